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
