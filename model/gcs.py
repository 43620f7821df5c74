"""Copy directory trees to and from ``gs://`` URIs with the real google-cloud-storage client.

The client honours ``STORAGE_EMULATOR_HOST``, so the same code talks to real GCS and to the
local emulator.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from model.contract import GS_SCHEME


def is_gs_uri(uri: str | os.PathLike[str]) -> bool:
    """Tell whether *uri* names a GCS location."""
    return str(uri).startswith(GS_SCHEME)


def parse_gs_uri(uri: str) -> tuple[str, str]:
    """Split ``gs://bucket/some/prefix`` into ``("bucket", "some/prefix")``."""
    if not is_gs_uri(uri):
        raise ValueError(f"{uri!r} is not a gs:// URI; expected gs://BUCKET[/PREFIX]")
    bucket, _, prefix = uri[len(GS_SCHEME) :].partition("/")
    if not bucket:
        raise ValueError(f"{uri!r} names no bucket; expected gs://BUCKET[/PREFIX]")
    return bucket, prefix.strip("/")


def client() -> storage.Client:
    """A storage client: anonymous against the emulator, Application Default Credentials else."""
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        return storage.Client(project="mnist-e2e", credentials=AnonymousCredentials())
    return storage.Client()


def missing_permissions(
    uri: str, permissions: Collection[str], gcs: storage.Client | None = None
) -> list[str]:
    """Which of *permissions* this identity lacks on the bucket of *uri* (asked, not tried)."""
    bucket_name, _ = parse_gs_uri(uri)
    granted = set((gcs or client()).bucket(bucket_name).test_iam_permissions(list(permissions)))
    return [p for p in permissions if p not in granted]


def upload_tree(
    local_dir: Path, uri: str, gcs: storage.Client | None = None, *, last: Collection[str] = ()
) -> int:
    """Upload every file under *local_dir* below *uri*; return how many were written.

    Files whose path relative to *local_dir* is in *last* are uploaded after all others, so
    a reader that polls for them (TF Serving for ``saved_model.pb``) sees a complete tree.
    """
    bucket_name, prefix = parse_gs_uri(uri)
    bucket = (gcs or client()).bucket(bucket_name)
    count = 0
    files = sorted(p for p in local_dir.rglob("*") if p.is_file())
    for path in sorted(files, key=lambda p: p.relative_to(local_dir).as_posix() in last):
        name = "/".join(filter(None, [prefix, path.relative_to(local_dir).as_posix()]))
        bucket.blob(name).upload_from_filename(str(path))
        count += 1
    return count


def download_tree(uri: str, local_dir: Path, gcs: storage.Client | None = None) -> int:
    """Download every object below *uri* into *local_dir*; return how many were read."""
    bucket_name, prefix = parse_gs_uri(uri)
    count = 0
    for blob in (gcs or client()).list_blobs(bucket_name, prefix=f"{prefix}/" if prefix else None):
        relative = blob.name[len(prefix) :].lstrip("/") if prefix else blob.name
        if not relative or relative.endswith("/"):
            continue
        target = local_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(target))
        count += 1
    return count


def list_children(uri: str, gcs: storage.Client | None = None) -> list[str]:
    """Names of the immediate "subdirectories" below *uri* (like ``ls`` on a folder)."""
    bucket_name, prefix = parse_gs_uri(uri)
    iterator = (gcs or client()).list_blobs(
        bucket_name, prefix=f"{prefix}/" if prefix else None, delimiter="/"
    )
    list(iterator)  # prefixes fill only once the pages are consumed
    return sorted(
        p[len(prefix) :].strip("/") if prefix else p.strip("/") for p in iterator.prefixes
    )
