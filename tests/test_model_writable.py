"""model.writable: where the training program will write is checked before training, each
failure naming the flag and the path, and a passing check leaves nothing behind."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from model.writable import NotWritable, check_dir, check_file
from tests.support.loopback_http import Request, serve


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory on a read-only tmpfs mount; teardown unmounts it.

    Root ignores permission bits, so a read-only mount is the only honest "cannot write"
    here; where mounting is not allowed the test skips, saying so.
    """
    target = tmp_path / "ro"
    target.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(target)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=False)


def test_a_writable_directory_passes_and_nothing_is_left(tmp_path: Path) -> None:
    check_dir("--tf-export-dir", tmp_path / "not" / "yet" / "there")
    check_dir("--tf-export-dir", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_directory_under_a_regular_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotWritable) as raised:
        check_dir("--tf-export-dir", tmp_path / "file" / "export")
    assert str(raised.value) == (
        f"--tf-export-dir '{tmp_path}/file/export' is not writable: '{tmp_path}/file' is a"
        " file, not a directory; choose a path whose parents are directories"
    )


def test_a_directory_under_proc_is_not_writable() -> None:
    with pytest.raises(NotWritable, match=r"^--tf-export-dir '/proc/mnist/export' is not writa"):
        check_dir("--tf-export-dir", "/proc/mnist/export")


def test_a_read_only_mount_is_not_writable(read_only_dir: Path) -> None:
    with pytest.raises(NotWritable, match=r"cannot create anything in .*Read-only file system"):
        check_dir("--tf-export-dir", read_only_dir / "export")
    with pytest.raises(NotWritable, match=r"--tf-metrics-path .*Read-only file system"):
        check_file("--tf-metrics-path", read_only_dir / "metrics.json")


def test_a_metrics_file_is_checked_like_its_directory(tmp_path: Path) -> None:
    check_file("--tf-metrics-path", tmp_path / "out" / "metrics.json")
    existing = tmp_path / "metrics.json"
    existing.write_text("{}")
    check_file("--tf-metrics-path", existing)
    assert existing.read_text() == "{}", "the check must not change the file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]
    with pytest.raises(NotWritable, match="is a directory; give a file path"):
        check_file("--tf-metrics-path", tmp_path)
    with pytest.raises(NotWritable, match="is a file, not a directory"):
        check_file("--tf-metrics-path", existing / "metrics.json")


def test_a_bucket_that_exists_passes(gcs_emulator: str, monkeypatch) -> None:
    from model import gcs

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    gcs.client().create_bucket("writable-bucket")
    check_dir("--tf-export-dir", "gs://writable-bucket/export")


def test_a_missing_bucket_is_named(gcs_emulator: str, monkeypatch) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    with pytest.raises(NotWritable) as raised:
        check_dir("--tf-export-dir", "gs://no-such-bucket/export")
    assert str(raised.value) == (
        "--tf-export-dir 'gs://no-such-bucket/export' is not writable: bucket 'no-such-bucket'"
        " does not exist; create it or name another"
    )


def test_a_bucket_this_identity_cannot_write_names_the_missing_permissions(monkeypatch) -> None:
    """A stand-in for GCS answering testIamPermissions with "list only": the emulator grants
    everything, so it cannot show this."""

    def answer(request: Request) -> tuple[int, object]:
        assert request.path == "/storage/v1/b/their-bucket/iam/testPermissions"
        return 200, {"kind": "storage#testIamPermissionsResponse", "permissions": ["storage.objects.list"]}  # fmt: skip

    with serve(answer) as url:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", url)
        with pytest.raises(NotWritable) as raised:
            check_dir("--tf-export-dir", "gs://their-bucket/mnist")
    assert str(raised.value) == (
        "--tf-export-dir 'gs://their-bucket/mnist' is not writable: this identity lacks"
        " storage.objects.create on bucket 'their-bucket'; grant it roles/storage.objectAdmin"
        " there"
    )
