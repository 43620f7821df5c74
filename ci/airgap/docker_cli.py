"""The few Docker CLI calls the build makes, each failing with the command's own error."""

from __future__ import annotations

import subprocess
from pathlib import Path


class DockerError(RuntimeError):
    """A docker command failed; the message carries the command and its last error line."""


def run(*args: str, stdin: bytes | None = None, timeout: float | None = None) -> str:
    """Run ``docker ARGS`` and return its stdout."""
    done = subprocess.run(["docker", *args], input=stdin, capture_output=True, timeout=timeout)
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip().splitlines()
        raise DockerError(
            f"docker {' '.join(args[:3])} … failed: {err[-1] if err else done.returncode}"
        )
    return done.stdout.decode(errors="replace")


def image_exists(tag: str) -> bool:
    """True when the engine holds an image of that name (never looks at a registry)."""
    done = subprocess.run(["docker", "image", "inspect", tag], capture_output=True)
    return done.returncode == 0


def image_size(tag: str) -> int:
    """The image's size in bytes, as the engine reports it."""
    return int(run("image", "inspect", "--format", "{{.Size}}", tag).strip())


def import_tarball(archive: Path, tag: str, changes: list[str]) -> None:
    """``docker import`` a root filesystem tarball as ``tag`` with Dockerfile-style changes."""
    args = ["import"]
    for change in changes:
        args += ["--change", change]
    run(*args, str(archive), tag)


def save(tag: str, archive: Path) -> None:
    """Write the image as a docker-archive tarball (what ctr and kind load read)."""
    run("save", "-o", str(archive), tag)
