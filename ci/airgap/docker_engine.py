"""The Docker engine kind runs on: found running, probed for privileged containers, and given
the capability-dropping runtime only when this host refuses what --privileged asks for."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ci.airgap import cache, docker_cli
from kubekit.wait import until

RUNTIME_NAME = "mnist-e2e-dropcaps"
DAEMON_JSON = Path(os.environ.get("MNIST_E2E_DOCKER_DAEMON_JSON", "/etc/docker/daemon.json"))

# Linux capability numbers (include/uapi/linux/capability.h); index = number.
CAPABILITIES = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
]


class EngineError(RuntimeError):
    """The Docker engine is missing or cannot run what kind needs."""


@dataclass(frozen=True)
class Engine:
    """What the probe found: the server version and the capabilities the runtime must drop."""

    server_version: str
    dropped: tuple[str, ...]
    registered_now: bool = False

    @property
    def note(self) -> str:
        if not self.dropped:
            return f"docker {self.server_version}, privileged containers run as shipped"
        return (
            f"docker {self.server_version}, runtime {RUNTIME_NAME} drops {', '.join(self.dropped)}"
        )


def server_version() -> str:
    """The running engine's version, or EngineError saying how to start one."""
    done = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise EngineError(
            "no Docker engine answers on this machine "
            f"({done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'docker version failed'}); "
            "install Debian's docker.io and start `dockerd` (bash .ci/run does both)"
        )
    return done.stdout.strip()


def bounding_set() -> set[str]:
    """The capabilities this process may ever hold (CapBnd in /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            mask = int(line.split()[1], 16)
            return {f"CAP_{name}" for bit, name in enumerate(CAPABILITIES) if mask >> bit & 1}
    return {f"CAP_{name}" for name in CAPABILITIES}


def _run(image: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "run", "--rm", *flags, image, "-v"], capture_output=True, text=True
    )


def _runs(image: str, *flags: str) -> bool:
    return _run(image, *flags).returncode == 0


def _refused(image: str) -> tuple[str, ...]:
    """Each capability the host will not grant a container, found by asking for it alone.

    A capability this engine does not know (an older dockerd) is not in what --privileged
    asks for either, so it needs no dropping.
    """
    allowed = bounding_set()
    refused = [f"CAP_{name}" for name in CAPABILITIES if f"CAP_{name}" not in allowed]
    for cap in sorted(allowed):
        done = _run(image, "--cap-drop=ALL", f"--cap-add={cap}")
        if done.returncode != 0 and "unknown capability" not in done.stderr.lower():
            refused.append(cap)
    return tuple(sorted(refused))


def probe_image(pause_binary: Path) -> str:
    """A one-file image (the pause program) to start probe containers from."""
    tag = f"mnist-e2e/probe:{cache.key(pause_binary.read_bytes().hex()[:4096], pause_binary.stat().st_size)}"
    if docker_cli.image_exists(tag):
        return tag
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "probe.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(pause_binary, arcname="pause")
        docker_cli.import_tarball(archive, tag, ['ENTRYPOINT ["/pause"]'])
    return tag


def _register(shim: Path, dropped: tuple[str, ...]) -> None:
    """Register the runtime as dockerd's default in daemon.json and have dockerd reload it."""
    config = json.loads(DAEMON_JSON.read_text()) if DAEMON_JSON.exists() else {}
    config.setdefault("runtimes", {})[RUNTIME_NAME] = {
        "path": str(shim),
        "runtimeArgs": [f"--drop={','.join(dropped)}"],
    }
    config["default-runtime"] = RUNTIME_NAME
    DAEMON_JSON.parent.mkdir(parents=True, exist_ok=True)
    DAEMON_JSON.write_text(json.dumps(config, indent=2) + "\n")
    pids = subprocess.run(["pidof", "dockerd"], capture_output=True, text=True).stdout.split()
    if not pids:
        raise EngineError(
            f"wrote {DAEMON_JSON}, but no dockerd process runs here to reload it; restart the engine"
        )
    for pid in pids:
        os.kill(int(pid), signal.SIGHUP)  # runtimes and default-runtime reload without a restart

    def reloaded() -> bool:
        return _default_runtime() == RUNTIME_NAME

    until(f"dockerd taking {RUNTIME_NAME} as its default runtime", reloaded, timeout=20)


def _default_runtime() -> str:
    done = subprocess.run(
        ["docker", "info", "--format", "{{.DefaultRuntime}}"], capture_output=True, text=True
    )
    return done.stdout.strip()


def _registered_drops() -> tuple[str, ...]:
    """The capabilities our runtime already drops, when it is dockerd's default."""
    if _default_runtime() != RUNTIME_NAME or not DAEMON_JSON.exists():
        return ()
    args = json.loads(DAEMON_JSON.read_text())["runtimes"][RUNTIME_NAME]["runtimeArgs"]
    return tuple(args[0].removeprefix("--drop=").split(","))


def prepare(pause_binary: Path, shim: Path) -> Engine:
    """Make privileged containers start here, changing dockerd only when the host needs it."""
    version = server_version()
    image = probe_image(pause_binary)
    if _runs(image, "--privileged"):
        return Engine(version, _registered_drops())
    dropped = _refused(image)
    if not dropped:
        raise EngineError(
            "privileged containers fail here, but no single capability is refused; "
            f"see `docker run --rm --privileged {image} -v`"
        )
    _register(shim, dropped)
    if not _runs(image, "--privileged"):
        raise EngineError(
            f"privileged containers still fail with {RUNTIME_NAME} dropping {', '.join(dropped)}"
        )
    return Engine(version, dropped, registered_now=True)
