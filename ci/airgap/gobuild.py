"""Build Go programs from the module proxy through a small wrapper module.

``go install pkg@version`` refuses modules whose go.mod has ``replace`` or ``exclude``
(Kubernetes, etcd, containerd). A wrapper module that requires the module and repeats
those directives, with each path replace pointed at the sibling module's published
version, builds the same code with ``go build``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from ci.airgap import cache
from ci.airgap.pins import GoModule

_REPLACE_LINE = re.compile(r"^\s*(\S+)(?:\s+(\S+))?\s*=>\s*(\S+)(?:\s+(\S+))?\s*$")


def go_version() -> str:
    """The Go toolchain's version, part of every build's cache key."""
    return subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()


def _download(module: str, version: str) -> dict[str, str]:
    done = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True,
        text=True,
    )
    info = json.loads(done.stdout or "{}")
    if done.returncode != 0 or "Error" in info:
        raise RuntimeError(
            f"go mod download {module}@{version} failed: {info.get('Error') or done.stderr.strip()}"
        )
    return info


def _blocks(gomod: str, directive: str) -> list[str]:
    """The lines of every ``directive (...)`` block and single-line directive in a go.mod."""
    lines: list[str] = []
    inside = False
    for raw in gomod.splitlines():
        line = raw.split("//", 1)[0].rstrip()
        if inside:
            if line.strip() == ")":
                inside = False
            elif line.strip():
                lines.append(line.strip())
        elif line.startswith(f"{directive} ("):
            inside = True
        elif line.startswith(f"{directive} "):
            lines.append(line[len(directive) + 1 :].strip())
    return lines


def _required(gomod: str) -> dict[str, str]:
    return {p[0]: p[1] for p in (line.split() for line in _blocks(gomod, "require")) if len(p) >= 2}


def _sibling_version(target: GoModule, sibling: str, required: str | None) -> str:
    """The published version of a module ``target``'s go.mod replaces with a local path."""
    # A module nested in the target's own tree at a pseudo-version (KFP's api and
    # kubernetes_platform, which carry no tags of their own) is the same commit: the same
    # pseudo-version. What the go.mod requires for it is a stale placeholder.
    if sibling.startswith(target.module + "/") and target.version.startswith("v0.0.0-"):
        return target.version
    if required and not required.startswith("v0.0.0"):
        return required
    # A placeholder (or no requirement): Kubernetes publishes its staging modules as
    # v0.<minor>.<patch>; other repositories tag them with the module's own version.
    if target.version.startswith("v1."):
        return "v0." + target.version[len("v1.") :]
    return target.version


def wrapper_gomod(target: GoModule, upstream_gomod: str) -> str:
    """The go.mod of a module that builds ``target`` with its own replace/exclude directives."""
    required = _required(upstream_gomod)
    out = [
        "module mnist-e2e.invalid/airgap-build",
        "",
        "go 1.24",
        "",
        f"require {target.module} {target.version}",
        "",
    ]
    for line in _blocks(upstream_gomod, "replace"):
        match = _REPLACE_LINE.match(line)
        if not match:
            continue
        old, old_version, new, new_version = match.groups()
        if "FORBIDDEN_DEPENDENCY" in new:
            continue  # upstream's guard against importing a module, not something to build
        if new.startswith("."):
            out.append(f"replace {old} => {old} {_sibling_version(target, old, required.get(old))}")
        else:
            lhs = f"{old} {old_version}" if old_version else old
            out.append(f"replace {lhs} => {new} {new_version or ''}".rstrip())
    for line in _blocks(upstream_gomod, "exclude"):
        out.append(f"exclude {line}")
    return "\n".join(out) + "\n"


def build(target: GoModule, ldflags: str = "") -> tuple[Path, bool]:
    """Build ``target``'s packages into ``<cache>/go/<name>-<key>/bin``: (bin dir, built now?)."""
    parts = target.module.split("/")
    # go.etcd.io/etcd/server/v3 -> server: a major-version suffix names nothing
    name = (parts[-2] if re.fullmatch(r"v\d+", parts[-1]) else parts[-1]) + "-" + target.version
    inputs = cache.key(target, ldflags, go_version())

    def run(folder: Path) -> None:
        info = _download(target.module, target.version)
        src = folder / "src"
        src.mkdir()
        gomod = wrapper_gomod(target, Path(info["GoMod"]).read_text())
        if target.symlinks:
            # go refuses -overlay for files in the module cache: build a copy with them added.
            copy = folder / "module"
            shutil.copytree(info["Dir"], copy, copy_function=shutil.copyfile)
            for directory in [copy, *(d for d in copy.rglob("*") if d.is_dir())]:
                directory.chmod(0o755)  # the module cache's folders are read-only
            for link, points_to in target.symlinks:
                shutil.copyfile(copy / points_to, copy / link)
            gomod += f"replace {target.module} => {copy}\n"
        (src / "go.mod").write_text(gomod)
        env = {
            **os.environ,
            "GOFLAGS": "-mod=mod -buildvcs=false",
            "CGO_ENABLED": "1" if target.cgo else "0",
            "GOWORK": "off",
            "GOTOOLCHAIN": "local",
        }
        command = [
            "go",
            "build",
            "-trimpath",
            f"-ldflags=-s -w {ldflags}".strip(),
            "-o",
            str(folder / "bin") + "/",
        ]
        if target.tags:
            command.append("-tags=" + ",".join(target.tags))
        (folder / "bin").mkdir()
        done = subprocess.run(
            [*command, *target.packages], cwd=src, env=env, capture_output=True, text=True
        )
        shutil.rmtree(folder / "module", ignore_errors=True)
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"building {target.module}@{target.version} failed:\n{tail}")

    return cache.entry("go", name, inputs, run)


def build_tree(
    name: str,
    source: Path,
    source_key: str,
    packages: tuple[str, ...],
    *,
    cgo: bool = False,
    tags: tuple[str, ...] = (),
) -> tuple[Path, bool]:
    """Build ``packages`` (paths relative to ``source``, a module root whose dependencies the
    module proxy serves) into ``<cache>/go/<name>-<key>/bin``: (bin dir, built now?)."""
    inputs = cache.key(source_key, packages, cgo, tags, go_version())

    def run(folder: Path) -> None:
        env = {
            **os.environ,
            # -mod=mod: go.sum may lack sums of modules the packages need (KFP's does).
            "GOFLAGS": "-mod=mod -buildvcs=false",
            "CGO_ENABLED": "1" if cgo else "0",
            "GOWORK": "off",
            "GOTOOLCHAIN": "local",
        }
        command = ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(folder / "bin") + "/"]
        if tags:
            command.append("-tags=" + ",".join(tags))
        (folder / "bin").mkdir()
        done = subprocess.run(
            [*command, *packages], cwd=source, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"building {name} from {source} failed:\n{tail}")

    return cache.entry("go", name, inputs, run)


HERE = Path(__file__).resolve().parent


def build_own(command: str, ldflags: str = "") -> tuple[Path, bool]:
    """Build one of this folder's own programs (``cmd/<command>``, standard library only)."""
    source = HERE / "cmd" / command / "main.go"
    inputs = cache.key(source.read_text(), (HERE / "go.mod").read_text(), ldflags, go_version())

    def run(folder: Path) -> None:
        env = {**os.environ, "CGO_ENABLED": "0", "GOWORK": "off", "GOTOOLCHAIN": "local"}
        subprocess.run(
            [
                "go",
                "build",
                "-trimpath",
                f"-ldflags=-s -w {ldflags}".strip(),
                "-o",
                str(folder / command),
                f"./cmd/{command}",
            ],
            cwd=HERE,
            env=env,
            check=True,
            capture_output=True,
        )

    path, built = cache.entry("own", command, inputs, run)
    return path / command, built


def module_dir(target: GoModule) -> Path:
    """The module's source in the module cache (downloaded if absent): for its data files."""
    return Path(_download(target.module, target.version)["Dir"])
