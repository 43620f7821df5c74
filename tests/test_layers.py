"""The layout's rules, checked on the source: who may import whom (DESIGN.md, "Packages and
who may import whom"), and no import cycle between modules — lazy imports included."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.product_code import ROOT, python_files

# The harness's own base modules: no platform, no cluster code, no lifecycle.
FIXTURES_CORE = {
    "charts",
    "config",
    "digit_pictures",
    "ledger",
    "naming",
    "phases",
    "ports",
    "prediction_log",
    "processes",
    "report",
    "run_paths",
}
# The harness's rooms, each a package with one job (DESIGN.md draws them).
ROOMS = ("created", "history", "kfp", "kind", "platforms", "tools")
CORE = "fixtures (core)"
TOP = "fixtures (lifecycle, plugin, commands)"
ALLOWED: dict[str, set[str]] = {
    "kubekit": set(),
    "source_tree": set(),
    "tf_serving_api": set(),
    "metadata_server": set(),
    "model": {"tf_serving_api"},
    "serving": {"model", "tf_serving_api"},
    "web_ui": {"model", "tf_serving_api"},
    "pipeline.deploy": {"kubekit", "model", "tf_serving_api"},
    "pipeline": {"kubekit", "model", "pipeline.deploy", "tf_serving_api"},
    CORE: {"kubekit", "model"},
    "fixtures.tools": {CORE, "kubekit"},
    "fixtures.kfp": {CORE, "fixtures.tools", "kubekit", "pipeline.deploy"},
    "fixtures.kind": {CORE, "fixtures.kfp", "fixtures.tools", "kubekit"},
    "fixtures.created": {CORE, "fixtures.kfp", "fixtures.kind", "fixtures.tools", "kubekit"},
    "fixtures.history": {CORE},
    "fixtures.platforms": {
        CORE,
        "fixtures.created",
        "fixtures.kfp",
        "fixtures.kind",
        "fixtures.tools",
        "ci.airgap",
        "kubekit",
        "model",
        "pipeline",
        "pipeline.deploy",
        "source_tree",
        "web_ui",
    },
    TOP: {
        CORE,
        "fixtures.created",
        "fixtures.history",
        "fixtures.kfp",
        "fixtures.kind",
        "fixtures.platforms",
        "fixtures.tools",
        "kubekit",
        "model",
        "pipeline",
        "pipeline.deploy",
        "source_tree",
        "web_ui",
    },
    "ci.airgap": {"kubekit", "source_tree"},
    # ci.airgap: the KFP source the build pins (kfp_source), whose protos the IR is checked on
    "ci.validate": {
        "ci.airgap",
        "kubekit",
        "model",
        "pipeline",
        "pipeline.deploy",
        "tf_serving_api",
    },
    "ci.scripts": set(),
    "ci": set(),
}


def modules() -> dict[str, Path]:
    found = {}
    for path, relative in python_files():
        name = relative.removesuffix(".py").replace("/", ".")
        found[name.removesuffix(".__init__")] = path
    return found


def layer(module: str) -> str:
    """The unit of the rules above that *module* belongs to."""
    parts = module.split(".")
    if parts[0] == "fixtures":
        if len(parts) > 1 and parts[1] in ROOMS:
            return f"fixtures.{parts[1]}"
        return CORE if len(parts) > 1 and parts[1] in FIXTURES_CORE else TOP
    if (
        parts[0] in ("pipeline", "ci")
        and len(parts) > 1
        and parts[1] in ("deploy", "airgap", "validate", "scripts")
    ):
        return ".".join(parts[:2])
    return parts[0]


def imports(path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The project modules *path* imports, at any depth of the file (lazy imports too)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in known
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target:
                yield target


MODULES = modules()
GRAPH = {name: set(imports(path, MODULES)) - {name} for name, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not m.startswith("benchmarks")))
def test_a_module_imports_only_the_layers_below_it(module: str) -> None:
    mine = layer(module)
    wrong = {
        target
        for target in GRAPH[module]
        if layer(target) != mine and layer(target) not in ALLOWED[mine]
    }
    assert not wrong, f"{module} ({mine}) may not import {sorted(wrong)}: see DESIGN.md"


def test_no_two_modules_import_each_other_even_through_others() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    assert cycles == [], f"import cycles: {cycles}"


def test_no_two_modules_share_a_name() -> None:
    names: dict[str, list[str]] = {}
    for path in [*ROOT.glob("*/**/*.py")]:
        if (
            ".tox" in path.parts
            or "_generated" in path.parts
            or path.name
            in (
                "__init__.py",
                "__main__.py",
                "conftest.py",
            )
        ):
            continue
        names.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    shared = {name: paths for name, paths in names.items() if len(paths) > 1}
    assert shared == {}, f"modules of one name: {shared}"


def test_the_rules_cover_every_module() -> None:
    assert {layer(m) for m in MODULES if not m.startswith("benchmarks")} <= set(ALLOWED)
