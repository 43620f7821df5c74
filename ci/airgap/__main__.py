"""Build everything the kind platform needs without a container registry, or reuse it.

``python -m ci.airgap`` (``tox -e airgap``): Go programs from the module proxy, Debian root
filesystems from Debian's mirror, images from those with the local engine, the kind node
image, the project image. Everything is cached outside the repo by its inputs, so a second
run only checks. Ends with a table of what was built or reused, with versions and seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ci.airgap import (
    cache,
    control_plane,
    docker_engine,
    gobuild,
    images,
    kfp_standalone,
    manifest,
    node_image,
    pins,
    project_image,
    rootfs,
    stand_in_images,
)

T = TypeVar("T")


@dataclass
class Row:
    what: str
    version: str
    action: str
    seconds: float
    detail: str = ""


class Table:
    """One row per thing built or reused, printed as it goes and again at the end."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.started = time.monotonic()

    def step(
        self,
        what: str,
        version: str,
        work: Callable[[], tuple[T, bool]],
        detail: Callable[[T], str] = lambda _: "",
    ) -> T:
        started = time.monotonic()
        result, built = work()
        row = Row(
            what,
            version,
            "built" if built else "reused",
            time.monotonic() - started,
            detail(result),
        )
        self.rows.append(row)
        print(
            f"airgap: {row.action:6} {row.what} {row.version} ({row.seconds:.1f}s) {row.detail}",
            flush=True,
        )
        return result

    def render(self) -> str:
        widths = [max(len(r.what) for r in self.rows), max(len(r.version) for r in self.rows)]
        lines = [f"{'what':{widths[0]}}  {'version':{widths[1]}}  action  seconds  detail"]
        for r in self.rows:
            lines.append(
                f"{r.what:{widths[0]}}  {r.version:{widths[1]}}  {r.action:6}  {r.seconds:7.1f}  {r.detail}"
            )
        lines.append(f"total {time.monotonic() - self.started:.1f}s; cache {cache.root()}")
        return "\n".join(lines)


def build_all(root: Path) -> manifest.Manifest:
    """Every step, in the order the parts depend on each other."""
    table = Table()
    kind_files = gobuild.module_dir(pins.KIND) / "images" / "base" / "files"
    sandbox = node_image.sandbox_image(
        (kind_files / "etc" / "containerd" / "config.toml").read_text()
    )
    pause_version = sandbox.rsplit(":", 1)[-1]
    pause = table.step(
        "pause (ours)",
        pause_version,
        lambda: gobuild.build_own("pause", f"-X main.version={pause_version}"),
    )
    shim = table.step("runc-dropcaps (ours)", "-", lambda: gobuild.build_own("runc-dropcaps"))
    engine = table.step(
        "docker engine",
        "-",
        lambda: _engine_step(docker_engine.prepare(pause, shim)),
        lambda e: e.note,
    )

    def go(target: pins.GoModule, ldflags: str = "") -> Path:
        return (
            table.step(target.module, target.version, lambda: gobuild.build(target, ldflags))
            / "bin"
        )

    kind_bin = go(pins.KIND)
    kube_bin = go(pins.KUBERNETES, pins.kubernetes_ldflags())
    etcd_bin = go(pins.ETCD)
    coredns_bin = go(pins.COREDNS)
    containerd_bin = go(pins.CONTAINERD)
    runc_bin = go(pins.RUNC)
    crictl_bin = go(pins.CRI_TOOLS)
    cni_bin = go(pins.CNI_PLUGINS)

    node_root = rootfs.image(table.step, "node", rootfs.NODE_PACKAGES, "mnist-e2e/bookworm-node")
    iptables_root = rootfs.image(
        table.step, "iptables", rootfs.IPTABLES_PACKAGES, "mnist-e2e/bookworm-iptables"
    )
    python_base = rootfs.image(
        table.step,
        "python",
        rootfs.PYTHON_PACKAGES,
        "mnist-e2e/python-base",
        project_image.BASE_CHANGES,
        host_trust=True,
        slim=True,  # the images users get: the web UI's stays under 300 MB
    )

    preload: list[tuple[str, str]] = []
    for component in control_plane.components(
        images.list_required(kube_bin / "kubeadm", pins.KUBERNETES_VERSION),
        sandbox,
        kubernetes_bin=kube_bin,
        etcd_bin=etcd_bin,
        coredns_bin=coredns_bin,
        pause=pause,
        iptables_base=iptables_root.tag,
    ):
        image = table.step(
            f"image {component.program}",
            component.version,
            lambda c=component: c.build().row(),
            images.BuiltImage.describe,
        )
        preload.append((image.tag, component.name))

    parts = node_image.NodeParts(
        rootfs_image=node_root.tag,
        kind_files=kind_files,
        containerd_bin=containerd_bin,
        runc_bin=runc_bin,
        crictl_bin=crictl_bin,
        cni_bin=cni_bin,
        kubernetes_bin=kube_bin,
        kubernetes_version=pins.KUBERNETES_VERSION,
    )
    node = table.step(
        "image kind node",
        pins.KUBERNETES_VERSION,
        lambda: node_image.build(parts, preload).row(),
        images.BuiltImage.describe,
    )

    project = table.step(
        "image project",
        "-",
        lambda: project_image.build(root, python_base.tag).row(),
        images.BuiltImage.describe,
    )

    pipelines = kfp_standalone.build(table.step, root, kube_bin / "kubectl", python_base.tag)

    # The GKE rehearsal's GCS and registry (docs/gke-rehearsal.md).
    gcs_emulator = table.step(
        "image gcs-emulator",
        "lock",
        lambda: stand_in_images.gcs_emulator_image(python_base.tag).row(),
        images.BuiltImage.describe,
    )
    registry = table.step(
        "image registry",
        pins.REGISTRY.version,
        lambda: stand_in_images.registry_image(
            table.step, kfp_standalone.base_image(table.step).tag
        ).row(),
        images.BuiltImage.describe,
    )

    built = manifest.Manifest(
        node_image=node.tag,
        kind=str(kind_bin / "kind"),
        kubectl=str(kube_bin / "kubectl"),
        kubernetes_version=pins.KUBERNETES_VERSION,
        kind_version=pins.KIND.version,
        images={
            "project": project.tag,
            "serving": project.tag,
            "python-base": python_base.tag,
            "gcs-emulator": gcs_emulator.tag,
            "registry": registry.tag,
            **pipelines.images,
        },
        engine=engine.note,
        kfp_manifests=pipelines.manifests,
        kfp_version=pins.KFP_VERSION if pipelines.manifests else "",
        kfp_blocked=pipelines.blocked,
    )
    path = built.write()
    print()
    print(table.render())
    for reason in pipelines.blocked:
        print(f"kfp: not built: {reason}")
    print(f"manifest: {path}")
    return built


def _engine_step(engine: docker_engine.Engine) -> tuple[docker_engine.Engine, bool]:
    return engine, engine.registered_now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ci.airgap", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parents[2],
        help="the repo checkout to build the project image from",
    )
    args = parser.parse_args(argv)
    try:
        build_all(args.root)
    except (RuntimeError, OSError) as exc:
        print(f"airgap: FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
