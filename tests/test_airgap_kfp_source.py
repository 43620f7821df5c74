"""KFP's source: a few files read from the pinned release without unpacking it."""

import re
from pathlib import Path

import pytest

from ci.airgap import kfp_source, pins

ROOT = Path(__file__).resolve().parents[1]


def test_files_are_read_from_a_folder_of_the_pinned_version(monkeypatch, tmp_path):
    (tmp_path / "VERSION").write_text(f"{pins.KFP_VERSION}\n")
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "a.proto").write_bytes(b"syntax = 'proto3';")
    monkeypatch.setenv(kfp_source.ENV, str(tmp_path))
    assert kfp_source.read(ROOT, ["api/a.proto"]) == {"api/a.proto": b"syntax = 'proto3';"}
    with pytest.raises(kfp_source.SourceMissing, match=re.escape("has no api/b.proto")):
        kfp_source.read(ROOT, ["api/b.proto"])


def test_an_archive_of_other_bytes_is_refused(monkeypatch, tmp_path):
    archive = tmp_path / pins.KFP_SOURCE_ARCHIVE
    archive.write_bytes(b"not the release")
    monkeypatch.setenv(kfp_source.ENV, str(archive))
    with pytest.raises(kfp_source.SourceMissing, match="not the pinned"):
        kfp_source.read(ROOT, ["VERSION"])


def test_the_pinned_archive_is_read_under_its_prefix(monkeypatch):
    monkeypatch.delenv(kfp_source.ENV, raising=False)
    if not kfp_source.default_location(ROOT).is_file():
        pytest.skip(f"no {kfp_source.default_location(ROOT)}")
    found = kfp_source.read(ROOT, ["VERSION"])
    assert found["VERSION"].decode().strip() == pins.KFP_VERSION


def test_prepare_says_what_is_missing_and_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_E2E_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(kfp_source.ENV, raising=False)
    with pytest.raises(kfp_source.SourceMissing, match=re.escape("git archive --format=tar.gz")):
        kfp_source.prepare(tmp_path / "elsewhere" / "checkout")


def test_a_checkout_away_from_shared_uses_the_pin_unpacked_before(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_E2E_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(kfp_source.ENV, raising=False)
    name = f"kubeflow-pipelines-{pins.KFP_VERSION}"
    tree = tmp_path / "cache" / "kfp-source" / f"{name}-{pins.KFP_SOURCE_SHA256[:12]}" / name
    tree.mkdir(parents=True)
    source, unpacked = kfp_source.prepare(tmp_path / "elsewhere" / "checkout")
    assert (source.root, source.key, unpacked) == (tree, pins.KFP_SOURCE_SHA256[:12], False)
    # an explicitly configured source that is missing is an error, never the cache's
    monkeypatch.setenv(kfp_source.ENV, str(tmp_path / "nope.tar.gz"))
    with pytest.raises(kfp_source.SourceMissing, match=re.escape("nope.tar.gz")):
        kfp_source.prepare(tmp_path / "elsewhere" / "checkout")
