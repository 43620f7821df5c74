"""The images kubeadm runs (API server, controller manager, scheduler, proxy, etcd, CoreDNS)
and the pod sandbox, each built from a binary compiled here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ci.airgap import cache, images


@dataclass(frozen=True)
class Component:
    """One image the node must hold: the name kubeadm (or containerd) uses, and its program."""

    name: str  # e.g. registry.k8s.io/kube-apiserver:v1.34.4
    binary: Path
    base: str = "scratch"

    @property
    def program(self) -> str:
        return self.name.rsplit("/", 1)[-1].split(":")[0]

    @property
    def version(self) -> str:
        return self.name.rsplit(":", 1)[-1]

    def dockerfile(self) -> str:
        return images.static_binary_dockerfile([self.program], [self.program], base=self.base)

    def build(self) -> images.BuiltImage:
        """``mnist-e2e/<program>:<version>-<hash>``; the node knows it by ``name``."""
        stat = self.binary.stat()
        tag = images.tagged(
            f"mnist-e2e/{self.program}",
            self.version,
            self.dockerfile(),
            stat.st_size,
            stat.st_mtime_ns,
        )
        return images.build(tag, self.dockerfile(), {self.program: self.binary})


def components(
    required: list[str],
    sandbox: str,
    *,
    kubernetes_bin: Path,
    etcd_bin: Path,
    coredns_bin: Path,
    pause: Path,
    iptables_base: str,
) -> list[Component]:
    """What kubeadm listed (its pause swapped for containerd's ``sandbox_image``), each with
    the binary built for it. kube-proxy gets a Debian base: it runs iptables and conntrack."""
    # go build names a /vN module's binary after the element before it
    special = {"etcd": etcd_bin / "server", "coredns": coredns_bin / "coredns", "pause": pause}
    out = []
    for name in [n for n in required if "/pause:" not in n] + [sandbox]:
        program = name.rsplit("/", 1)[-1].split(":")[0]
        binary = special.get(program, kubernetes_bin / program)
        if not binary.is_file():
            raise FileNotFoundError(f"no binary for image {name}: expected {binary}")
        out.append(Component(name, binary, iptables_base if program == "kube-proxy" else "scratch"))
    return out


def key(components_: list[Component]) -> str:
    return cache.key([(c.name, c.binary.stat().st_size) for c in components_])
