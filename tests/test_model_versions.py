"""model.versions: which versions an export dir holds, which comes next, whether one is free."""

from __future__ import annotations

from pathlib import Path

import pytest

from model import versions


@pytest.mark.parametrize(
    ("existing", "now", "expected"),
    [
        ([], 1000, 1000),
        (["1", "2"], 1000, 1000),
        (["1000"], 1000, 1001),  # two exports within one second
        (["5000", "notes", ".1.tmp-x"], 1000, 5001),  # the clock behind an earlier export
    ],
)
def test_next_version_outranks_every_existing_one(existing, now, expected) -> None:
    assert versions.next_version(existing, now) == expected


def test_only_all_digit_names_are_versions() -> None:
    assert versions.versions(["10", "9", ".7.tmp-ab", "v3", "README"]) == [9, 10]


def test_a_missing_export_dir_has_no_versions(tmp_path: Path) -> None:
    assert versions.existing(str(tmp_path / "not-yet")) == []


def test_a_taken_version_is_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "12").mkdir()

    versions.check_free(str(tmp_path), 13)
    with pytest.raises(
        versions.ExportError, match=r"version 12 already exists in .*--tf-export-version"
    ):
        versions.check_free(str(tmp_path), 12)
