"""What a fresh interpreter has imported after running some code: for the tests that keep heavy
packages (TensorFlow, the cluster clients) out of processes that do not need them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def packages_loaded(code: str, packages: Iterable[str]) -> list[str]:
    """The modules of *packages* in ``sys.modules`` once *code* has run in a fresh interpreter
    started in the repository's root; AssertionError with its stderr if *code* failed."""
    wanted = tuple(packages)
    probe = (
        "\nimport json, sys\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {wanted!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code + probe], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
