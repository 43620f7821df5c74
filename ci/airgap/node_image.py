"""The kind node image, assembled here: kind's base made from local parts, then the
control plane's images imported into the node's containerd the way ``kind build node-image``
does it, and committed.

``kind build node-image`` itself fetches etcd, CoreDNS, pause and the CNI from a registry
inside its build container, with no local fallback. The node runs one CNI config of ours
(``node/cni.conflist``: kind's ptp plugin over host-local on the single node's pod range)
instead of kindnetd, so the cluster is created with ``disableDefaultCNI``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ci.airgap import docker_cli, images
from kubekit.exceptions import NotReady
from kubekit.wait import wait_until

HERE = Path(__file__).resolve().parent / "node"
NODE_REPOSITORY = "mnist-e2e/kind-node"
BASE_REPOSITORY = "mnist-e2e/kind-base"


@dataclass(frozen=True)
class NodeParts:
    """Everything a node image is made of (all local paths)."""

    rootfs_image: str
    kind_files: Path  # images/base/files of the kind module
    containerd_bin: Path
    runc_bin: Path
    crictl_bin: Path
    cni_bin: Path
    kubernetes_bin: Path
    kubernetes_version: str


def sandbox_image(containerd_config: str) -> str:
    """The pause image containerd's CRI plugin starts every pod with (``sandbox_image``)."""
    match = re.search(r'^\s*sandbox_image\s*=\s*"([^"]+)"', containerd_config, re.M)
    if not match:
        raise ValueError("containerd config names no sandbox_image")
    return match.group(1)


def build_base(parts: NodeParts) -> images.BuiltImage:
    """The node without its preloaded images: kind's base plus kubeadm, kubelet, kubectl."""
    tag = images.tagged(
        BASE_REPOSITORY,
        parts.kubernetes_version,
        parts,
        (HERE / "Dockerfile").read_text(),
        (HERE / "cni.conflist").read_text(),
    )
    if docker_cli.image_exists(tag):
        return images.BuiltImage(tag, docker_cli.image_size(tag), False)
    with tempfile.TemporaryDirectory(prefix="mnist-e2e-node-") as tmp:
        context = Path(tmp)
        shutil.copytree(parts.kind_files, context / "kind-files")
        (context / "runtime" / "bin").mkdir(parents=True)
        (context / "runtime" / "sbin").mkdir()
        for name in ("containerd", "ctr", "containerd-shim-runc-v2"):
            shutil.copy2(parts.containerd_bin / name, context / "runtime" / "bin" / name)
        shutil.copy2(parts.crictl_bin / "crictl", context / "runtime" / "bin" / "crictl")
        shutil.copy2(parts.runc_bin / "runc", context / "runtime" / "sbin" / "runc")
        shutil.copytree(parts.cni_bin, context / "cni")
        (context / "kubernetes").mkdir()
        for name in ("kubeadm", "kubelet", "kubectl"):
            shutil.copy2(parts.kubernetes_bin / name, context / "kubernetes" / name)
        (context / "version").write_text(parts.kubernetes_version + "\n")
        shutil.copy2(HERE / "cni.conflist", context / "cni.conflist")
        shutil.copy2(HERE / "Dockerfile", context / "Dockerfile")
        images.build_in(context, tag, args={"ROOTFS": parts.rootfs_image})
    return images.BuiltImage(tag, docker_cli.image_size(tag), True)


def build(parts: NodeParts, preload: list[tuple[str, str]]) -> images.BuiltImage:
    """The node image with each local image of ``preload`` in its containerd under the name
    the node asks for (``(local tag, name in the node)``), pinned so nothing collects it."""
    base = build_base(parts)
    tag = images.tagged(
        NODE_REPOSITORY,
        parts.kubernetes_version,
        base.tag,
        [
            (docker_cli.run("image", "inspect", "--format", "{{.Id}}", local).strip(), name)
            for local, name in preload
        ],
    )
    if docker_cli.image_exists(tag):
        return images.BuiltImage(tag, docker_cli.image_size(tag), False)
    container = f"mnist-e2e-node-build-{int(time.time())}"
    docker_cli.run("run", "-d", "--name", container, "--entrypoint", "sleep", base.tag, "infinity")
    try:
        docker_cli.run("exec", "-d", container, "containerd")
        _wait_for_containerd(container)
        ctr = ("exec", "-i", container, "ctr", "--namespace=k8s.io")
        for local, name in preload:
            docker_cli.run(
                *ctr,
                "images",
                "import",
                "--label=io.cri-containerd.pinned=pinned",
                "--all-platforms",
                "--no-unpack",
                "--digests",
                "-",
                stdin=images.archive(local).read_bytes(),
            )
            docker_cli.run(*ctr, "images", "tag", "--force", _normalized(local), name)
            docker_cli.run(*ctr, "images", "label", name, "io.cri-containerd.pinned=pinned")
        listed = docker_cli.run(*ctr, "images", "list", "-q").split()
        missing = [name for _, name in preload if name not in listed]
        if missing:
            raise images.MissingImage(f"node image build: containerd lists no {', '.join(missing)}")
        docker_cli.run("exec", container, "pkill", "-x", "containerd")
        docker_cli.run(
            "commit",
            "--change",
            'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
            "--change",
            "CMD []",
            container,
            tag,
        )
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", container], capture_output=True)
    return images.BuiltImage(tag, docker_cli.image_size(tag), True)


def _normalized(name: str) -> str:
    # containerd names images fully: docker.io/library/x:tag for a bare x:tag.
    first = name.split("/", 1)[0]
    if "/" not in name:
        return f"docker.io/library/{name}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{name}"
    return name


def _wait_for_containerd(container: str, timeout: float = 60) -> None:
    def answers() -> None:
        done = subprocess.run(
            ["docker", "exec", container, "ctr", "version"], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise NotReady(done.stderr.strip() or "ctr version failed")

    wait_until(f"containerd in build container {container}", answers, timeout=timeout)
