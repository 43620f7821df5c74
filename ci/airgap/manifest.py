"""What ``python -m ci.airgap`` built, as the kind platform reads it under ``--airgap``.

One JSON file in the cache per build recipe (:func:`recipe_key`): the node image, the images to ``kind load``, and the binaries
(kind, kubectl) to run. Every name in it was in the local engine when it was written; the
platform checks again, since nothing may be pulled to make up for a missing one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ci.airgap import cache

KFP_ROLES = (
    "kfp-api-server",
    "kfp-persistence-agent",
    "kfp-driver",
    "kfp-launcher",
    "argo-workflow-controller",
    "argoexec",
    "seaweedfs",
    "mariadb",
    "kfp-metadata",
    "kfp-wait",
)


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
    # on, for a run whose checkout changed since); Kubeflow Pipelines' (ci/airgap/kfp_standalone.py):
    # "kfp-api-server", "kfp-persistence-agent", "kfp-driver", "kfp-launcher",
    # "argo-workflow-controller", "argoexec", "seaweedfs", "mariadb", "kfp-metadata";
    # the GKE rehearsal's (ci/airgap/stand_in_images.py): "gcs-emulator", "registry"
    images: dict[str, str] = field(default_factory=dict)
    engine: str = ""
    # KFP standalone rendered with those images: a folder whose *.yaml are applied in name
    # order (cluster-scoped first); "" when the build could not make them (kfp_blocked says why)
    kfp_manifests: str = ""
    kfp_version: str = ""
    kfp_blocked: list[str] = field(default_factory=list)

    def kfp_images(self) -> dict[str, str]:
        """The images KFP's rendered manifests name, by role (what ``kind load`` must load)."""
        return {role: tag for role, tag in self.images.items() if role in KFP_ROLES}

    def write(self, path: Path | None = None) -> Path:
        target = path or default_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        return target


class ManifestMissing(RuntimeError):
    """No air-gapped build on this machine (or an unreadable one)."""


_RECIPE = Path(__file__).resolve().parents[1]  # ci/: everything the build runs


def recipe_key() -> str:
    """A hash of this checkout's build recipe (every file under ``ci/``).

    Checkouts whose recipes differ (branches, worktrees) share the cache's content-keyed
    builds but each reads the manifest its own ``tox -e airgap`` wrote: one global manifest
    let a run of one checkout install another's KFP render."""
    digest = hashlib.sha256()
    files = sorted(p for p in _RECIPE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        digest.update(path.relative_to(_RECIPE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def default_path(cache_root: Path | None = None) -> Path:
    """This checkout's manifest in the cache (``<cache>/manifests/<recipe key>.json``)."""
    return (cache_root or cache.root()) / "manifests" / f"{recipe_key()}.json"


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
