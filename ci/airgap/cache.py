"""The build cache outside the repo: one folder per artifact, named by its inputs' hash."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path


def root() -> Path:
    """Where everything built is kept: $MNIST_E2E_CACHE, else ~/.cache/mnist-e2e/airgap."""
    configured = os.environ.get("MNIST_E2E_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "mnist-e2e" / "airgap"


def key(*parts: object) -> str:
    """A short, stable hash of the inputs an artifact is built from."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes: what an input file contributes to a key (not its mtime,
    which a fresh clone changes)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def entry(
    kind: str, name: str, inputs_key: str, build: Callable[[Path], None]
) -> tuple[Path, bool]:
    """The folder for (kind, name, key), building it first when absent: (path, built now?).

    A build writes into a temporary sibling that is renamed into place only when it finished,
    so an interrupted build never leaves a folder that looks complete.
    """
    final = root() / kind / f"{name}-{inputs_key}"
    if final.is_dir():
        return final, False
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        build(partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(final)
    return final, True
