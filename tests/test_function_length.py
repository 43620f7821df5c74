"""Functions that fit on a screen: no product function (generated code aside) runs over
MAX_LINES lines, nested functions counted on their own and within their parent. A long
function is split where its parts have names of their own."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.product_code import PRODUCT, python_files

MAX_LINES = 60


def functions(path: Path) -> Iterator[tuple[str, int, int]]:
    """(qualified name, first line, length in lines) of every function in *path*."""

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, int, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                length = (child.end_lineno or child.lineno) - child.lineno + 1
                yield name, child.lineno, length
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(ast.parse(path.read_text(encoding="utf-8")), "")


def too_long(path: Path, relative: str) -> list[str]:
    return [
        f"{relative}:{line} {name} ({length} lines)"
        for name, line, length in functions(path)
        if length > MAX_LINES
    ]


def test_no_product_function_runs_over_the_limit() -> None:
    found = [line for path, relative in python_files(PRODUCT) for line in too_long(path, relative)]
    assert found == [], f"functions over {MAX_LINES} lines (split them):\n" + "\n".join(found)


def test_a_long_function_is_found(tmp_path: Path) -> None:
    source = tmp_path / "long.py"
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    source.write_text(f"class A:\n    def ok(self) -> None:\n        pass\n\ndef f():\n{body}\n")
    assert too_long(source, "fixtures/long.py") == [f"fixtures/long.py:5 f ({MAX_LINES + 1} lines)"]
