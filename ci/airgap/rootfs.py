"""Debian root filesystems made with debootstrap from Debian's mirror, cached as tarballs."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ci.airgap import cache
from ci.airgap.images import BuiltImage, from_rootfs
from ci.airgap.pins import DEBIAN_MIRROR, DEBIAN_SUITE

# What a kind node runs beside Kubernetes, from kind v0.30's base image package list, less
# the network-storage clients (nfs-common, open-iscsi) that no test here mounts.
NODE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "conntrack",
    "iptables",
    "nftables",
    "iproute2",
    "ethtool",
    "util-linux",
    "mount",
    "kmod",
    "libseccomp2",
    "pigz",
    "fuse-overlayfs",
    "bash",
    "ca-certificates",
    "curl",
    "jq",
    "procps",
)

# The project image's base: the Python 3.11 of bookworm (what python:3.11-slim-bookworm
# carries), pip to install the locked wheels, and `python` as a command.
PYTHON_PACKAGES = ("python3", "python3-pip", "python-is-python3", "ca-certificates")

# kube-proxy programs the node's iptables from inside its pod.
IPTABLES_PACKAGES = ("iptables", "conntrack")


HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# What an image never reads: manuals, package docs and message translations (about 50 MB).
DOC_DIRS = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale")


def build(
    name: str, packages: tuple[str, ...], *, host_trust: bool = False, slim: bool = False
) -> tuple[Path, bool]:
    """``<cache>/rootfs/<name>-<key>/rootfs.tar`` of a minbase bookworm with ``packages``.

    ``host_trust`` puts this machine's CA bundle in place of Debian's: where HTTPS to PyPI
    passes a proxy with its own CA, pip inside an image build trusts what the host trusts.
    ``slim`` leaves out :data:`DOC_DIRS`.
    """
    bundle = HOST_CA_BUNDLE.read_bytes() if host_trust and HOST_CA_BUNDLE.is_file() else b""

    def run(folder: Path) -> None:
        target = folder / "root"
        done = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(packages)}",
                f"--cache-dir={_debs()}",
                DEBIAN_SUITE,
                str(target),
                DEBIAN_MIRROR,
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
            raise RuntimeError(f"debootstrap {name} failed:\n{tail}")
        # Package lists and caches are build-time only; they would ship in every image.
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", *(DOC_DIRS if slim else ())):
            shutil.rmtree(target / junk, ignore_errors=True)
            (target / junk).mkdir(parents=True, exist_ok=True)
        if bundle:
            (target / "etc/ssl/certs/ca-certificates.crt").write_bytes(bundle)
        subprocess.run(
            ["tar", "-C", str(target), "--numeric-owner", "-cf", str(folder / "rootfs.tar"), "."],
            check=True,
        )
        shutil.rmtree(target)

    trust = cache.key(bundle.hex()) if bundle else ""
    # a slim build keys differently; the others keep the keys they had
    inputs = cache.key(DEBIAN_SUITE, DEBIAN_MIRROR, packages, trust, *(["slim"] if slim else []))
    path, built = cache.entry("rootfs", name, inputs, run)
    return path / "rootfs.tar", built


def image(
    step: Callable[..., Any],
    name: str,
    packages: tuple[str, ...],
    repository: str,
    changes: list[str] | None = None,
    *,
    host_trust: bool = False,
    slim: bool = False,
) -> BuiltImage:
    """A bookworm root filesystem with *packages*, imported as an image of *repository*;
    two rows of the build table (*step* is its ``Table.step``)."""
    tar = step(
        f"rootfs {name}",
        DEBIAN_SUITE,
        lambda: build(name, packages, host_trust=host_trust, slim=slim),
    )
    return step(
        f"image {name} rootfs",
        DEBIAN_SUITE,
        lambda: from_rootfs(repository, tar, changes or ['CMD ["/bin/bash"]']).row(),
        BuiltImage.describe,
    )


def _debs() -> Path:
    # Downloaded .debs are shared by every root filesystem and survive a rebuild of one.
    path = cache.root() / "debs"
    path.mkdir(parents=True, exist_ok=True)
    return path
