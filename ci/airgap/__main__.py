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


@dataclass(frozen=True)
class GoPrograms:
    """The ``bin`` folders of the Go programs built from the module proxy."""

    kind: Path
    kubernetes: Path
    etcd: Path
    coredns: Path
    containerd: Path
    runc: Path
    crictl: Path
    cni: Path


@dataclass(frozen=True)
class RootFilesystems:
    """The Debian root filesystems, each imported as an image."""

    node: images.BuiltImage
    iptables: images.BuiltImage
    python: images.BuiltImage


def build_all(root: Path) -> manifest.Manifest:
    """Every step, in the order the parts depend on each other."""
    table = Table()
    kind_files = gobuild.module_dir(pins.KIND) / "images" / "base" / "files"
    sandbox = node_image.sandbox_image(
        (kind_files / "etc" / "containerd" / "config.toml").read_text()
    )
    pause, engine = _own_programs(table, sandbox)
    go = _go_programs(table)
    roots = _root_filesystems(table)
    preload = _control_plane_images(table, go, sandbox, pause, roots.iptables.tag)
    node = _node_image(table, kind_files, go, roots.node.tag, preload)
    project = table.step(
        "image project",
        "-",
        lambda: project_image.build(root, roots.python.tag).row(),
        images.BuiltImage.describe,
    )
    pipelines = kfp_standalone.build(table.step, root, go.kubernetes / "kubectl", roots.python.tag)
    gcs_emulator, registry = _rehearsal_images(table, roots.python.tag)
    built = manifest.Manifest(
        node_image=node.tag,
        kind=str(go.kind / "kind"),
        kubectl=str(go.kubernetes / "kubectl"),
        kubernetes_version=pins.KUBERNETES_VERSION,
        kind_version=pins.KIND.version,
        images={
            "project": project.tag,
            "serving": project.tag,
            "python-base": roots.python.tag,
            "gcs-emulator": gcs_emulator.tag,
            "registry": registry.tag,
            **pipelines.images,
        },
        engine=engine.note,
        kfp_manifests=pipelines.manifests,
        kfp_version=pins.KFP_VERSION if pipelines.manifests else "",
        kfp_blocked=pipelines.blocked,
    )
    _report(table, built.write(), pipelines.blocked)
    return built


def _own_programs(table: Table, sandbox: str) -> tuple[Path, docker_engine.Engine]:
    """This folder's pause (at the version containerd's *sandbox* image names) and the
    capability-dropping runtime, then the engine prepared with them: (pause, engine)."""
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
    return pause, engine


def _go_programs(table: Table) -> GoPrograms:
    def go(target: pins.GoModule, ldflags: str = "") -> Path:
        return (
            table.step(target.module, target.version, lambda: gobuild.build(target, ldflags))
            / "bin"
        )

    # Keyword arguments are evaluated in order: the table's rows keep this order.
    return GoPrograms(
        kind=go(pins.KIND),
        kubernetes=go(pins.KUBERNETES, pins.kubernetes_ldflags()),
        etcd=go(pins.ETCD),
        coredns=go(pins.COREDNS),
        containerd=go(pins.CONTAINERD),
        runc=go(pins.RUNC),
        crictl=go(pins.CRI_TOOLS),
        cni=go(pins.CNI_PLUGINS),
    )


def _root_filesystems(table: Table) -> RootFilesystems:
    return RootFilesystems(
        node=rootfs.image(table.step, "node", rootfs.NODE_PACKAGES, "mnist-e2e/bookworm-node"),
        iptables=rootfs.image(
            table.step, "iptables", rootfs.IPTABLES_PACKAGES, "mnist-e2e/bookworm-iptables"
        ),
        python=rootfs.image(
            table.step,
            "python",
            rootfs.PYTHON_PACKAGES,
            "mnist-e2e/python-base",
            project_image.BASE_CHANGES,
            host_trust=True,
            slim=True,  # the images users get: the web UI's stays under 300 MB
        ),
    )


def _control_plane_images(
    table: Table, go: GoPrograms, sandbox: str, pause: Path, iptables_base: str
) -> list[tuple[str, str]]:
    """An image per control-plane component kubeadm asks for: (local tag, name in the node)."""
    preload: list[tuple[str, str]] = []
    for component in control_plane.components(
        images.list_required(go.kubernetes / "kubeadm", pins.KUBERNETES_VERSION),
        sandbox,
        kubernetes_bin=go.kubernetes,
        etcd_bin=go.etcd,
        coredns_bin=go.coredns,
        pause=pause,
        iptables_base=iptables_base,
    ):
        image = table.step(
            f"image {component.program}",
            component.version,
            lambda c=component: c.build().row(),
            images.BuiltImage.describe,
        )
        preload.append((image.tag, component.name))
    return preload


def _node_image(
    table: Table,
    kind_files: Path,
    go: GoPrograms,
    rootfs_image: str,
    preload: list[tuple[str, str]],
) -> images.BuiltImage:
    parts = node_image.NodeParts(
        rootfs_image=rootfs_image,
        kind_files=kind_files,
        containerd_bin=go.containerd,
        runc_bin=go.runc,
        crictl_bin=go.crictl,
        cni_bin=go.cni,
        kubernetes_bin=go.kubernetes,
        kubernetes_version=pins.KUBERNETES_VERSION,
    )
    return table.step(
        "image kind node",
        pins.KUBERNETES_VERSION,
        lambda: node_image.build(parts, preload).row(),
        images.BuiltImage.describe,
    )


def _rehearsal_images(
    table: Table, python_base: str
) -> tuple[images.BuiltImage, images.BuiltImage]:
    """The GKE rehearsal's GCS and registry (docs/gke-rehearsal.md)."""
    gcs_emulator = table.step(
        "image gcs-emulator",
        "lock",
        lambda: stand_in_images.gcs_emulator_image(python_base).row(),
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
    return gcs_emulator, registry


def _report(table: Table, path: Path, blocked: list[str]) -> None:
    print()
    print(table.render())
    for reason in blocked:
        print(f"kfp: not built: {reason}")
    print(f"manifest: {path}")


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
