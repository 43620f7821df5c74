"""Container images built here from local files: ``docker build`` with the legacy builder,
whose ``FROM`` takes an image the engine already holds and never asks a registry."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ci.airgap import cache, docker_cli


class MissingImage(RuntimeError):
    """An image the air-gapped path needs is not in the local engine; nothing will pull it."""


@dataclass(frozen=True)
class BuiltImage:
    """An image in the local engine: its name, size, and whether this run built it."""

    tag: str
    size: int
    built: bool

    def row(self) -> tuple[BuiltImage, bool]:
        """(image, built now?), as a build-table step returns it."""
        return self, self.built

    def describe(self) -> str:
        """The table's detail column: tag and size."""
        return f"{self.tag} {self.size / 1e6:.0f} MB"


def build(
    tag: str,
    dockerfile: str,
    files: dict[str, Path],
    *,
    args: dict[str, str] | None = None,
    network: str = "none",
) -> BuiltImage:
    """Build ``tag`` from Dockerfile text and a context of ``{name in context: source}``.

    The tag carries the inputs' hash (see ``tagged``), so an image already present is reused.
    """
    if docker_cli.image_exists(tag):
        return BuiltImage(tag, docker_cli.image_size(tag), False)
    with tempfile.TemporaryDirectory(prefix="mnist-e2e-image-") as tmp:
        context = Path(tmp)
        (context / "Dockerfile").write_text(dockerfile)
        for name, source in files.items():
            target = context / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, symlinks=True)
            else:
                shutil.copy2(source, target)
        build_in(context, tag, args=args, network=network)
    return BuiltImage(tag, docker_cli.image_size(tag), True)


def build_in(
    context: Path,
    tag: str,
    *,
    dockerfile: Path | None = None,
    args: dict[str, str] | None = None,
    network: str = "none",
) -> None:
    """``docker build`` with the legacy builder: FROM images come from the local store only.

    ``network`` is the RUN steps' network: none, or host where pip installs from PyPI.
    """
    # --force-rm: a failed step leaves no container behind
    command = [
        "docker",
        "build",
        "--force-rm",
        f"--network={network}",
        "--pull=false",
        "--tag",
        tag,
    ]
    if dockerfile is not None:
        command += ["--file", str(dockerfile)]
    for name, value in (args or {}).items():
        command += ["--build-arg", f"{name}={value}"]
    # BuildKit would resolve a `# syntax=` frontend from a registry; the legacy builder
    # reads the Dockerfile itself and takes FROM images from the local store.
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    done = subprocess.run([*command, str(context)], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-12:])
        raise docker_cli.DockerError(f"docker build {tag} failed:\n{tail}")


def tagged(repository: str, version: str, *inputs: object) -> str:
    """``repository:version-<hash of inputs>``: a new tag whenever an input changes."""
    return f"{repository}:{version}-{cache.key(*inputs)}"


def from_rootfs(repository: str, rootfs_tar: Path, changes: list[str]) -> BuiltImage:
    """Import a root filesystem tarball as an image, tagged by the tarball's cache folder."""
    tag = f"{repository}:{rootfs_tar.parent.name.rsplit('-', 1)[-1]}"
    if docker_cli.image_exists(tag):
        return BuiltImage(tag, docker_cli.image_size(tag), False)
    docker_cli.import_tarball(rootfs_tar, tag, changes)
    return BuiltImage(tag, docker_cli.image_size(tag), True)


def archive(tag: str) -> Path:
    """A docker-archive of ``tag`` in the cache (what ``ctr images import`` reads)."""
    image_id = docker_cli.run("image", "inspect", "--format", "{{.Id}}", tag).strip().split(":")[-1]

    def save(folder: Path) -> None:
        docker_cli.save(tag, folder / "image.tar")

    path, _ = cache.entry("archives", tag.replace("/", "_").replace(":", "_"), image_id[:12], save)
    return path / "image.tar"


def require(tag: str) -> None:
    """MissingImage naming ``tag`` unless the engine holds it."""
    if not docker_cli.image_exists(tag):
        raise MissingImage(
            f"image {tag} is not in the local Docker engine and nothing here may pull it;"
            " build it with `tox -e airgap`"
        )


def static_binary_dockerfile(
    binaries: list[str], entrypoint: list[str], base: str = "scratch", user: str | None = None
) -> str:
    """A Dockerfile that puts static binaries in /usr/local/bin of ``base``."""
    lines = [f"FROM {base}"]
    lines += [f"COPY {name} /usr/local/bin/{name}" for name in binaries]
    lines.append("ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    if user:
        lines.append(f"USER {user}")
    quoted = ", ".join(f'"{part}"' for part in entrypoint)
    lines.append(f"ENTRYPOINT [{quoted}]")
    return "\n".join(lines) + "\n"


def list_required(kubeadm: Path, kubernetes_version: str) -> list[str]:
    """The images kubeadm will run, exactly as it names them."""
    out = subprocess.run(
        [str(kubeadm), "config", "images", "list", "--kubernetes-version", kubernetes_version],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]
