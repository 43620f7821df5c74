"""What ``python -m ci.airgap`` built, as the kind platform reads it under ``--airgap``.

One JSON file in the cache: the node image, the images to ``kind load``, and the binaries
(kind, kubectl) to run. Every name in it was in the local engine when it was written; the
platform checks again, since nothing may be pulled to make up for a missing one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ci.airgap import cache


@dataclass(frozen=True)
class Manifest:
    """The air-gapped build's outputs."""

    node_image: str
    kind: str
    kubectl: str
    kubernetes_version: str
    kind_version: str
    # role -> image: "project" (trainer, deploy steps, web UI), "serving" (the model server
    # that stands in for tensorflow/serving), "python-base" (what the project image is built
    # on, for a run whose checkout changed since)
    images: dict[str, str] = field(default_factory=dict)
    engine: str = ""

    def write(self, path: Path | None = None) -> Path:
        target = path or default_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        return target


class ManifestMissing(RuntimeError):
    """No air-gapped build on this machine (or an unreadable one)."""


def default_path() -> Path:
    return cache.root() / "manifest.json"


def load(path: Path | None = None) -> Manifest:
    """The manifest, or ManifestMissing saying to run ``tox -e airgap``."""
    source = path or default_path()
    try:
        data = json.loads(source.read_text())
        return Manifest(**data)
    except FileNotFoundError:
        raise ManifestMissing(
            f"no air-gapped build at {source}: run `tox -e airgap` first (it builds the node"
            " image and every image the cluster runs, with no registry)"
        ) from None
    except (ValueError, TypeError) as exc:
        raise ManifestMissing(
            f"{source} is not a manifest `tox -e airgap` wrote ({exc}); run it again"
        ) from exc
