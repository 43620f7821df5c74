"""Version numbers in an export dir: which exist, which comes next, whether one is free.

TF Serving treats each all-digit subdirectory of the model base path as a version and serves
the highest; every other name (temp dirs, notes) is ignored. No TensorFlow here, so the CLI
can check ``--tf-export-version`` before spending seconds loading it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from model import gcs


class ExportError(RuntimeError):
    """The version to export cannot be written where it was asked for."""


def versions(names: Iterable[str]) -> list[int]:
    """The version numbers among directory names, ascending."""
    return sorted(int(name) for name in names if name.isdigit())


def next_version(existing: Iterable[str], now: int) -> int:
    """Unix seconds, or one more than the newest existing version if that is not older.

    A server serves the highest version, so a new export must outrank every earlier one even
    when two runs finish within the same second or the clock is behind an earlier export.
    """
    return max([now, *(v + 1 for v in versions(existing))])


def existing(export_dir: str) -> list[str]:
    """The names below *export_dir* (local or ``gs://``); empty if it does not exist yet."""
    if gcs.is_gs_uri(export_dir):
        return gcs.list_children(export_dir)
    base = Path(export_dir)
    return [p.name for p in base.iterdir()] if base.is_dir() else []


def check_free(export_dir: str, version: int) -> None:
    """Raise ExportError if *version* already exists below *export_dir*."""
    if str(version) in existing(export_dir):
        raise ExportError(
            f"version {version} already exists in {export_dir}; versions are immutable,"
            " choose another --tf-export-version (or leave it out to use unix seconds)"
        )
