"""Can this process write where the training program will write? Asked before training starts.

A wrong ``--tf-export-dir`` (under a regular file, under ``/proc``, on a read-only mount, a
bucket this identity cannot write) would otherwise show only after training, as a traceback.
Each check proves what it can without leaving anything behind: locally it creates and removes
an empty hidden directory where the program will later create its own; on GCS it asks the
bucket which of the needed permissions this identity holds. No TensorFlow here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Final

from model.contract import GS_SCHEME

# What an export to gs:// does: list the versions there, then upload the new one.
GCS_PERMISSIONS: Final = ("storage.objects.list", "storage.objects.create")
_PROBE_PREFIX: Final = ".mnist-write-check-"  # hidden and non-numeric: pollers ignore it


class NotWritable(RuntimeError):
    """A path given on the command line cannot be written; the message names flag and path."""


def _nearest_existing(path: Path) -> Path:
    """*path* or its closest ancestor that exists (``/`` at worst)."""
    path = path.absolute()
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor)


def _probe_directory(flag: str, path: Path, given: Path | None = None) -> None:
    """Raise NotWritable unless *path* is, or can become, a directory this process writes in.

    Messages name *given* (what the flag said; default *path*).
    """
    shown = str(given or path)
    existing = _nearest_existing(path)
    if not existing.is_dir():
        raise NotWritable(
            f"{flag} {shown!r} is not writable: {str(existing)!r} is a file, not a"
            " directory; choose a path whose parents are directories"
        )
    try:
        os.rmdir(tempfile.mkdtemp(prefix=_PROBE_PREFIX, dir=existing))
    except OSError as exc:
        raise NotWritable(
            f"{flag} {shown!r} is not writable: cannot create anything in"
            f" {str(existing)!r} ({exc.strerror or exc}); choose a directory this user can"
            " write (a PVC mount, a writable volume) or fix its permissions"
        ) from exc


def check_dir(flag: str, path: str | Path) -> None:
    """Raise NotWritable unless *path* (local, a PVC mount, or ``gs://``) can take new files."""
    text = str(path)
    if text.startswith(GS_SCHEME):
        _check_gcs(flag, text)
    else:
        _probe_directory(flag, Path(text))


def check_file(flag: str, path: Path) -> None:
    """Raise NotWritable unless file *path* can be written (created, or overwritten)."""
    if path.is_dir():
        raise NotWritable(f"{flag} {str(path)!r} is a directory; give a file path")
    if not path.exists():
        _probe_directory(flag, path.parent, given=path)
        return
    try:
        # Opening for append proves write access without changing the file.
        with path.open("ab"):
            pass
    except OSError as exc:
        raise NotWritable(
            f"{flag} {str(path)!r} is not writable ({exc.strerror or exc}); choose a file"
            " this user can write"
        ) from exc


def _check_gcs(flag: str, uri: str) -> None:
    from google.api_core import exceptions as google_errors
    from google.auth.exceptions import GoogleAuthError

    from model import gcs

    bucket, _ = gcs.parse_gs_uri(uri)
    try:
        missing = gcs.missing_permissions(uri, GCS_PERMISSIONS)
    except google_errors.NotFound as exc:
        raise NotWritable(
            f"{flag} {uri!r} is not writable: bucket {bucket!r} does not exist; create it or"
            " name another"
        ) from exc
    except (google_errors.GoogleAPIError, GoogleAuthError, OSError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NotWritable(
            f"{flag} {uri!r}: cannot check access to bucket {bucket!r} ({first_line});"
            " check the credentials (workload identity, GOOGLE_APPLICATION_CREDENTIALS)"
        ) from exc
    if missing:
        raise NotWritable(
            f"{flag} {uri!r} is not writable: this identity lacks {', '.join(missing)} on"
            f" bucket {bucket!r}; grant it roles/storage.objectAdmin there"
        )
