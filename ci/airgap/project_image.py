"""The project image built on a local Debian base: the same Dockerfile, its base a build arg.

The Dockerfile's default base (python:3.11-slim-bookworm, pinned by digest) comes only from
a registry; bookworm's own Python 3.11 from Debian's mirror stands in for it here. pip
still installs the locked wheels from PyPI, one of the registries this machine reaches.
"""

from __future__ import annotations

from pathlib import Path

from ci.airgap import docker_cli, images
from source_tree.image_tag import image_for_checkout

# docker import --change lines for the Python base: Debian marks its Python as
# system-managed (PEP 668); the image is a container, pip may install into it.
BASE_CHANGES = ["ENV PIP_BREAK_SYSTEM_PACKAGES=1", 'CMD ["python3"]']
SUFFIX = "-localbase"


def tag_for(root: Path) -> str:
    """The checkout's image tag, marked as built on the local base."""
    return image_for_checkout(root) + SUFFIX


def build(root: Path, base_image: str) -> images.BuiltImage:
    """``docker build`` of the repo's Dockerfile on ``base_image`` (reused when present)."""
    tag = tag_for(root)
    if docker_cli.image_exists(tag):
        return images.BuiltImage(tag, docker_cli.image_size(tag), False)
    images.build_in(root, tag, args={"BASE_IMAGE": base_image}, network="host")
    return images.BuiltImage(tag, docker_cli.image_size(tag), True)
