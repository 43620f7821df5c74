"""serving.storage: versions listed and fetched from a directory, and from gs:// (real emulator)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from model import gcs
from serving.storage import GcsStore, LocalStore, StorageError, open_store


def write_version(base: Path, name: str, *, complete: bool = True) -> Path:
    """A version directory with a SavedModel's files (contents do not matter to a store)."""
    directory = base / name
    (directory / "variables").mkdir(parents=True)
    (directory / "variables" / "variables.index").write_bytes(b"index")
    if complete:
        (directory / "saved_model.pb").write_bytes(b"graph")
    return directory


# -- local -----------------------------------------------------------------------------------


def test_a_missing_base_path_has_no_versions_yet(tmp_path: Path) -> None:
    assert LocalStore(str(tmp_path / "not-yet")).versions() == []


def test_local_versions_are_the_all_digit_directories(tmp_path: Path) -> None:
    write_version(tmp_path, "1")
    write_version(tmp_path, "0010")
    write_version(tmp_path, ".11.tmp-abc")
    (tmp_path / "12").write_text("a file, not a version")
    store = LocalStore(str(tmp_path))
    assert store.versions() == [1, 10]
    assert store.fetch(10) == tmp_path / "0010"
    assert store.location(10) == f"{tmp_path}/0010"


def test_a_local_version_is_complete_once_saved_model_pb_is_there(tmp_path: Path) -> None:
    write_version(tmp_path, "1", complete=False)
    store = LocalStore(str(tmp_path))
    store.versions()
    assert not store.is_complete(1)
    (tmp_path / "1" / "saved_model.pbtxt").write_text("")  # TF Serving takes either
    assert store.is_complete(1)


def test_open_store_picks_by_scheme(tmp_path: Path) -> None:
    assert isinstance(open_store(str(tmp_path)), LocalStore)


# -- gs:// against gcp-storage-emulator -------------------------------------------------------


@pytest.fixture
def bucket(gcs_emulator: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``gs://<new bucket>/export`` on the emulator; STORAGE_EMULATOR_HOST points at it.

    Teardown: none needed, the emulator keeps everything in memory and stops after the module.
    """
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    name = f"serving-{uuid.uuid4().hex[:12]}"
    gcs.client().create_bucket(name)
    return f"gs://{name}/export"


def test_gcs_versions_completeness_fetch_and_cleanup(bucket: str, tmp_path: Path) -> None:
    write_version(tmp_path, "1")
    write_version(tmp_path, "2", complete=False)
    for version in ("1", "2"):
        gcs.upload_tree(tmp_path / version, f"{bucket}/{version}")
    store = open_store(bucket)
    assert isinstance(store, GcsStore)
    try:
        assert store.versions() == [1, 2]
        assert store.is_complete(1)
        assert not store.is_complete(2)

        local = store.fetch(1)
        assert local.parent == store.cache
        assert (local / "saved_model.pb").read_bytes() == b"graph"
        assert (local / "variables" / "variables.index").read_bytes() == b"index"
        store.release(1)
        assert not local.exists()
    finally:
        store.close()
    assert not store.cache.exists()


def test_gcs_base_path_not_written_yet_has_no_versions(bucket: str) -> None:
    store = open_store(f"{bucket}/nothing-here")
    try:
        assert store.versions() == []
    finally:
        store.close()


def test_a_missing_bucket_is_a_storage_error(
    gcs_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    store = open_store("gs://no-such-bucket/export")
    try:
        with pytest.raises(StorageError, match=r"cannot list gs://no-such-bucket/export: 404"):
            store.versions()
    finally:
        store.close()
