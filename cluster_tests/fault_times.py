"""Where the fault tests leave what they measured, for ``python -m benchmarks faults``.

The tests assert on behaviour only; the benchmark sets ``$MNIST_E2E_FAULT_TIMES`` to a file
and reads back one JSON line per fault run (wall times). Unset, nothing is written.
"""

from __future__ import annotations

import json
import os
from typing import Final

TIMES_ENV: Final = "MNIST_E2E_FAULT_TIMES"
REPEAT_ENV: Final = "MNIST_E2E_FAULT_REPEAT"


def record(measured: dict[str, object]) -> None:
    """Append *measured* as a line of ``$MNIST_E2E_FAULT_TIMES``, when it is set."""
    path = os.environ.get(TIMES_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(measured) + "\n")


def repeat() -> int:
    """How many runs of each ride-through fault: ``$MNIST_E2E_FAULT_REPEAT``, 1 in the tier."""
    return int(os.environ.get(REPEAT_ENV, "1"))
