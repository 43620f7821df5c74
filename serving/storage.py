"""Where versions come from: a local directory, or ``gs://`` copied into a private cache.

TensorFlow loads a SavedModel from a local directory. A local base path (or a PVC mount) is
used in place; for ``gs://`` each version is downloaded with the real google-cloud-storage
client (which honours ``STORAGE_EMULATOR_HOST``, so the emulator works too) into a temp
cache that belongs to this process and is removed when it closes.
"""

from __future__ import annotations

import shutil
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Final

from model import gcs
from serving.version_policy import version_names

# TF Serving accepts either file as the sign of a SavedModel.
SAVED_MODEL_FILES: Final = ("saved_model.pb", "saved_model.pbtxt")


class StorageError(RuntimeError):
    """The base path could not be read; the next poll tries again."""


class ModelStore(ABC):
    """Lists a base path's versions and makes one available as a local directory."""

    def __init__(self, base_path: str) -> None:
        self.base_path = base_path
        self._names: dict[int, str] = {}

    def versions(self) -> list[int]:
        """The version numbers under the base path now (empty if it does not exist yet)."""
        try:
            self._names = version_names(self._list())
        except Exception as exc:
            raise StorageError(f"cannot list {self.base_path}: {exc}") from exc
        return sorted(self._names)

    def name(self, version: int) -> str:
        """The directory name of *version* as last listed (``"0007"`` for 7, if so named)."""
        return self._names.get(version, str(version))

    def location(self, version: int) -> str:
        """Where *version* lives on storage, for messages."""
        return f"{self.base_path.rstrip('/')}/{self.name(version)}"

    @abstractmethod
    def _list(self) -> list[str]:
        """Names of the entries directly under the base path."""

    @abstractmethod
    def is_complete(self, version: int) -> bool:
        """Whether *version* holds ``saved_model.pb`` (written last, so the rest is there)."""

    @abstractmethod
    def fetch(self, version: int) -> Path:
        """A local directory holding *version*'s SavedModel."""

    def release(self, version: int) -> None:  # noqa: B027 - optional hook
        """Forget the local copy of *version*, if fetch made one."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Remove whatever this store created locally."""


class LocalStore(ModelStore):
    """A directory on this machine (a PVC mount in a cluster), used in place."""

    def _list(self) -> list[str]:
        base = Path(self.base_path)
        if not base.is_dir():
            return []
        return [entry.name for entry in base.iterdir() if entry.is_dir()]

    def is_complete(self, version: int) -> bool:
        directory = Path(self.location(version))
        return any((directory / name).is_file() for name in SAVED_MODEL_FILES)

    def fetch(self, version: int) -> Path:
        return Path(self.location(version))


class GcsStore(ModelStore):
    """``gs://bucket/prefix``: listed remotely, each version downloaded into a temp cache."""

    def __init__(self, base_path: str) -> None:
        super().__init__(base_path.rstrip("/"))
        self._bucket_name, self._prefix = gcs.parse_gs_uri(self.base_path)
        self._client = gcs.client()
        self.cache = Path(tempfile.mkdtemp(prefix="mnist-serving-cache-"))

    def _list(self) -> list[str]:
        return gcs.list_children(self.base_path, self._client)

    def _object(self, version: int, filename: str) -> str:
        return "/".join(filter(None, [self._prefix, self.name(version), filename]))

    def is_complete(self, version: int) -> bool:
        bucket = self._client.bucket(self._bucket_name)
        try:
            return any(
                bucket.blob(self._object(version, name)).exists() for name in SAVED_MODEL_FILES
            )
        except Exception as exc:
            raise StorageError(f"cannot read {self.location(version)}: {exc}") from exc

    def fetch(self, version: int) -> Path:
        target = self.cache / self.name(version)
        shutil.rmtree(target, ignore_errors=True)  # a leftover of an earlier failed attempt
        try:
            count = gcs.download_tree(self.location(version), target, self._client)
        except Exception as exc:
            shutil.rmtree(target, ignore_errors=True)
            raise StorageError(f"cannot download {self.location(version)}: {exc}") from exc
        if count == 0:
            raise StorageError(f"{self.location(version)} holds no objects")
        return target

    def release(self, version: int) -> None:
        shutil.rmtree(self.cache / self.name(version), ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.cache, ignore_errors=True)


def open_store(base_path: str) -> ModelStore:
    """The store for *base_path*: GcsStore for ``gs://…``, LocalStore otherwise."""
    if gcs.is_gs_uri(base_path):
        return GcsStore(base_path)
    return LocalStore(base_path)
