"""A word with a meaning is defined in one module and used by name everywhere else: each known
literal below may appear as a string in its home module only (docstrings and comments aside).
A literal typed again beside its constant drifts from it the day one of them changes."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.product_code import ROOT, python_files

CONTRACT = "model/contract.py"
KUBE = "kubekit/constants.py"
HOMES: dict[str, str] = {
    "gs://": CONTRACT,  # GS_SCHEME
    "MNIST_UI_MODEL_SERVERS": CONTRACT,
    "MNIST_UI_MODEL_NAME": CONTRACT,
    "MNIST_UI_DATA_DIR": CONTRACT,
    "MNIST_UI_TIMEOUT_SECONDS": CONTRACT,
    "MNIST_SERVING_HOST": CONTRACT,
    "kubeflow": KUBE,  # PIPELINE_NAMESPACE
    "ml-pipeline": KUBE,  # KFP_API_SERVICE
    "pipeline-runner": KUBE,  # PIPELINE_SERVICE_ACCOUNT
    "pipeline/runid": KUBE,  # KFP_RUN_LABEL
    "workflows.argoproj.io/workflow": KUBE,  # WORKFLOW_LABEL
    "workflows.argoproj.io/node-name": KUBE,  # NODE_NAME_ANNOTATION
    "app.kubernetes.io/managed-by": KUBE,  # MANAGED_BY_LABEL
    "mnist-e2e/run-id": KUBE,  # RUN_ID_LABEL
    "/var/local/mnist-e2e-kfp/mysql": KUBE,  # KFP_DB_NODE_DIR
    "kind-": "fixtures/kind/kindctl.py",  # CONTEXT_PREFIX: a kind cluster's context
    "serve ready": "fixtures/phases.py",  # SERVE_READY
    "ui ready": "fixtures/phases.py",  # UI_READY
}


def strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Every string constant of *tree* (f-strings' literal parts too), docstrings left out."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.lineno, node.value


def misplaced(path: Path, relative: str) -> list[str]:
    found = []
    for line, value in strings(ast.parse(path.read_text(encoding="utf-8"))):
        home = HOMES.get(value)
        if home is not None and home != relative:
            found.append(f"{relative}:{line}: {value!r} (defined in {home}: import it)")
    return found


def test_a_known_literal_appears_only_in_its_home_module() -> None:
    found = [line for path, relative in python_files() for line in misplaced(path, relative)]
    assert found == [], "literals typed again beside their constant:\n" + "\n".join(found)


@pytest.mark.parametrize("literal", sorted(HOMES))
def test_every_literal_is_defined_in_its_home(literal: str) -> None:
    home = ROOT / HOMES[literal]
    assert literal in {value for _, value in strings(ast.parse(home.read_text()))}, home


def test_a_literal_typed_again_is_found(tmp_path: Path) -> None:
    stray = tmp_path / "stray.py"
    stray.write_text('"""doc: kubeflow"""\n\nNAMESPACE = "kubeflow"\nURI = f"gs://{1}/x"\n')
    assert misplaced(stray, "fixtures/stray.py") == [
        "fixtures/stray.py:3: 'kubeflow' (defined in kubekit/constants.py: import it)",
        "fixtures/stray.py:4: 'gs://' (defined in model/contract.py: import it)",
    ]
