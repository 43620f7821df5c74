"""Kubeflow Pipelines' source, the input every KFP image and manifest is built from.

The module proxy here refuses every version of github.com/kubeflow/pipelines at the 2.17.0
commit, so the release's source comes from a ``git archive`` of the tag: ``$MNIST_E2E_KFP_SOURCE``
(a ``.tar.gz`` or an unpacked folder), else ``../shared/vendor/<pins.KFP_SOURCE_ARCHIVE>`` beside
the checkout. An archive must match ``pins.KFP_SOURCE_SHA256``; a folder must say the pinned
version in its ``VERSION`` file. Unpacked once into the cache, keyed by the archive's hash.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ci.airgap import cache, pins

ENV = "MNIST_E2E_KFP_SOURCE"


class SourceMissing(RuntimeError):
    """No usable KFP source: the message says what is missing and how to get it."""


@dataclass(frozen=True)
class KfpSource:
    """An unpacked KFP source tree and the key its builds are cached by."""

    root: Path
    key: str  # the archive's sha256, or a hash of a folder's go.mod, go.sum and VERSION

    @property
    def apiserver_config(self) -> Path:
        return self.root / "backend" / "src" / "apiserver" / "config"

    @property
    def kustomize(self) -> Path:
        return self.root / "manifests" / "kustomize"


def default_location(repo_root: Path) -> Path:
    """Where the source is looked for when $MNIST_E2E_KFP_SOURCE is unset."""
    return repo_root.parent / "shared" / "vendor" / pins.KFP_SOURCE_ARCHIVE


def how_to_get() -> str:
    return (
        f"set {ENV} to a `git archive --format=tar.gz --prefix=kubeflow-pipelines-"
        f"{pins.KFP_VERSION}/ {pins.KFP_VERSION}` of github.com/kubeflow/pipelines (sha256"
        f" {pins.KFP_SOURCE_SHA256[:16]}…), or to an unpacked checkout of that tag"
    )


def locate(repo_root: Path) -> Path:
    """The configured source path (not yet checked). SourceMissing when there is none."""
    configured = os.environ.get(ENV)
    path = Path(configured).expanduser() if configured else default_location(repo_root)
    if not path.exists():
        origin = f"{ENV}={configured}" if configured else str(path)
        raise SourceMissing(f"KFP {pins.KFP_VERSION} source not found at {origin}: {how_to_get()}")
    return path


def _unpack(archive: Path, folder: Path) -> None:
    with tarfile.open(archive) as tar:
        # filter="data": no absolute paths, links out of the tree, or device files.
        tar.extractall(folder, filter="data")


def _single_top(folder: Path) -> Path:
    entries = [p for p in folder.iterdir()]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else folder


def _checked(path: Path) -> str:
    """*path*'s sha256 when it is an archive ('' for a folder), once it is known to be the pin.

    SourceMissing for an archive of other bytes than the pin or a folder of another version.
    """
    if path.is_dir():
        version = (path / "VERSION").read_text().strip() if (path / "VERSION").is_file() else ""
        if version != pins.KFP_VERSION:
            raise SourceMissing(
                f"{path} is KFP {version or '(no VERSION file)'}, not {pins.KFP_VERSION}: "
                + how_to_get()
            )
        return ""
    digest = cache.file_digest(path)
    if digest != pins.KFP_SOURCE_SHA256:
        raise SourceMissing(
            f"{path} has sha256 {digest}, not the pinned {pins.KFP_SOURCE_SHA256}"
            f" (KFP {pins.KFP_VERSION} at {pins.KFP_COMMIT[:12]}): {how_to_get()}"
        )
    return digest


def read(repo_root: Path, relatives: Sequence[str]) -> dict[str, bytes]:
    """Files of the source by their path under its root, read without unpacking it.

    For checks that need a few files (ci/validate/kfp_compat.py reads two protos), not a
    build: nothing goes to the cache. SourceMissing as for :func:`prepare`, and for a file
    the source does not hold.
    """
    path = locate(repo_root)
    _checked(path)
    if path.is_dir():
        missing = [r for r in relatives if not (path / r).is_file()]
        if missing:
            raise SourceMissing(f"{path} has no {', '.join(missing)}: {how_to_get()}")
        return {r: (path / r).read_bytes() for r in relatives}
    with tarfile.open(path) as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        # `git archive --prefix=kubeflow-pipelines-<version>/` puts everything under one folder.
        tops = {name.split("/", 1)[0] for name in members}
        prefix = f"{tops.pop()}/" if len(tops) == 1 else ""
        found = {}
        for relative in relatives:
            member = members.get(prefix + relative)
            stream = tar.extractfile(member) if member is not None else None
            if stream is None:
                raise SourceMissing(f"{path} has no {relative}: {how_to_get()}")
            found[relative] = stream.read()
    return found


def _unpacked_pin() -> Path | None:
    """The cache's unpacked tree of the pinned archive, if an earlier build made it."""
    folder = cache.root() / "kfp-source" / f"{_ENTRY}-{pins.KFP_SOURCE_SHA256[:12]}"
    return folder if folder.is_dir() else None


_ENTRY = f"kubeflow-pipelines-{pins.KFP_VERSION}"


def prepare(repo_root: Path) -> tuple[KfpSource, bool]:
    """The source tree, unpacked into the cache when it is an archive: (source, unpacked now?).

    SourceMissing for an absent source, an archive of other bytes than the pin, or a folder
    of another version.
    """
    try:
        path = locate(repo_root)
    except SourceMissing:
        # A checkout elsewhere than beside shared/ (a CI clone) on a machine that unpacked the
        # pinned archive before: that tree was checked against the pin when it was unpacked.
        unpacked = _unpacked_pin()
        if unpacked is None or os.environ.get(ENV):
            raise
        return KfpSource(_single_top(unpacked), pins.KFP_SOURCE_SHA256[:12]), False
    digest = _checked(path)
    if path.is_dir():
        key = cache.key([cache.file_digest(path / n) for n in ("go.mod", "go.sum", "VERSION")])
        return KfpSource(path, key), False
    folder, unpacked = cache.entry(
        "kfp-source",
        _ENTRY,
        digest[:12],
        lambda f: _unpack(path, f),
    )
    return KfpSource(_single_top(folder), digest[:12]), unpacked
