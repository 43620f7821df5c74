"""The repo's own Python packages and their files, for the tests that read the source (layers,
literals, function length): one list, so a new package is checked by all of them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "benchmarks",
    "ci",
    "fixtures",
    "kubekit",
    "metadata_server",
    "model",
    "pipeline",
    "serving",
    "source_tree",
    "tf_serving_api",
    "web_ui",
)
# What a user runs or the harness is: the packages but the measurements.
PRODUCT = tuple(package for package in PACKAGES if package != "benchmarks")


def python_files(packages: Iterable[str] = PACKAGES) -> Iterator[tuple[Path, str]]:
    """(path, repo-relative posix path) of every .py file of *packages*, generated code aside."""
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "_generated" not in path.parts:
                yield path, path.relative_to(ROOT).as_posix()
