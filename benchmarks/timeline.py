"""Where a program's time goes, from the moments its output lines appear.

The training program prints a line as each stage ends (data loaded, trained, evaluated,
exported); timestamping those lines as they arrive splits its wall time without touching it.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Line:
    """One output line and the seconds since launch when it arrived."""

    at: float
    text: str


def run_timed(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
) -> tuple[list[Line], float, int]:
    """Run *argv*, stdout and stderr merged; its timed lines, total seconds and exit code."""
    started = time.perf_counter()
    lines = []
    with subprocess.Popen(
        list(argv),
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdout is not None
        for text in process.stdout:
            lines.append(Line(time.perf_counter() - started, text.rstrip("\n")))
        code = process.wait()
    return lines, time.perf_counter() - started, code


def stages(
    lines: Sequence[Line], marks: Sequence[tuple[str, str]], total: float
) -> dict[str, float]:
    """Seconds per stage: each stage ends when the first line matching its pattern arrives.

    *marks* are ``(stage name, regex)`` in the order the program prints them; the stage
    ``exit`` runs from the last mark to the end of the process. A mark never seen is an error,
    naming it and the last lines that were seen.
    """
    result: dict[str, float] = {}
    previous = 0.0
    for name, pattern in marks:
        hit = next((line for line in lines if re.search(pattern, line.text)), None)
        if hit is None:
            seen = "\n".join(line.text for line in lines[-10:])
            raise ValueError(f"stage {name!r}: no line matched {pattern!r}; last lines:\n{seen}")
        result[name] = hit.at - previous
        previous = hit.at
    result["exit"] = total - previous
    return result
