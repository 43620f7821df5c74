"""The local e2e run phase by phase: ``pytest e2e --platform local``, N times, medians.

Each run is a fresh pytest process with its own artifacts dir; the harness writes the phase
times (``artifacts/<run-id>/phases.json``) and this reads them. Beside the harness's own
phases it reports what only the outside sees: pytest's start-up and collection before the
first phase, and the exit after the last.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.report import format_table
from benchmarks.stack import REPO_ROOT
from benchmarks.stats import median
from fixtures.phases import PHASES

STARTUP = "pytest start-up"
EXIT = "pytest exit"
WALL = "total (process wall)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=3, help="e2e runs to take medians of (3)")
    parser.add_argument(
        "--pytest-args",
        default="",
        help="extra pytest arguments, one shell-quoted string (e.g. '--local-storage pvc')",
    )


def pytest_argv(artifacts: Path, extra: Sequence[str] = ()) -> list[str]:
    """The e2e command one run executes."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "e2e",
        "--platform",
        "local",
        "-p",
        "no:cacheprovider",
        "-q",
        "--artifacts-dir",
        str(artifacts),
        *extra,
    ]


def phase_seconds(
    phases: list[dict[str, Any]], launched: float, exited: float
) -> dict[str, dict[str, float]]:
    """Offset from launch and duration of each phase, plus start-up, exit and process wall.

    *phases* is the harness's phases.json; *launched*/*exited* are ``time.time()`` stamps of
    the pytest process. Phases overlap (serving starts while training runs), so the
    durations do not add up to the wall time; the offsets show the overlap.
    """
    rows: dict[str, dict[str, float]] = {}
    starts = [float(p["start"]) for p in phases]
    ends = [float(p["end"]) for p in phases if p.get("end") is not None]
    if starts:
        rows[STARTUP] = {"starts_at": 0.0, "seconds": min(starts) - launched}
    for phase in phases:
        if phase.get("end") is None:
            continue
        rows[str(phase["name"])] = {
            "starts_at": float(phase["start"]) - launched,
            "seconds": float(phase["end"]) - float(phase["start"]),
        }
    if ends:
        rows[EXIT] = {"starts_at": max(ends) - launched, "seconds": exited - max(ends)}
    rows[WALL] = {"starts_at": 0.0, "seconds": exited - launched}
    return rows


def medians(runs: Sequence[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per row, the median offset and duration over the runs that have that row."""
    order = [STARTUP, *PHASES, EXIT, WALL]
    names = [n for n in order if any(n in r for r in runs)]
    names += sorted({n for r in runs for n in r} - set(names))
    return {
        name: {
            key: median([r[name][key] for r in runs if name in r])
            for key in ("starts_at", "seconds")
        }
        | {"runs": sum(name in r for r in runs)}
        for name in names
    }


def one_run(extra: Sequence[str]) -> dict[str, Any]:
    """Run the e2e suite once in a fresh process; its rows, exit code and run id."""
    with tempfile.TemporaryDirectory(prefix="mnist-bench-phases-") as tmp:
        artifacts = Path(tmp)
        launched = time.time()
        done = subprocess.run(
            pytest_argv(artifacts, extra), cwd=REPO_ROOT, capture_output=True, text=True
        )
        exited = time.time()
        phase_files = sorted(artifacts.glob("*/phases.json"))
        if not phase_files:
            raise RuntimeError(
                f"the e2e run wrote no phases.json (exit {done.returncode}); its output ends:\n"
                + "\n".join((done.stdout + done.stderr).splitlines()[-30:])
            )
        phases = json.loads(phase_files[0].read_text(encoding="utf-8"))
        return {
            "run_id": phase_files[0].parent.name,
            "exit_code": done.returncode,
            "summary_line": (done.stdout.strip().splitlines() or [""])[-1],
            "rows": phase_seconds(phases, launched, exited),
        }


def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Run the e2e suite ``--runs`` times; return the table of medians and the JSON results."""
    extra = shlex.split(args.pytest_args)
    runs = []
    for number in range(1, args.runs + 1):
        result = one_run(extra)
        wall = result["rows"][WALL]["seconds"]
        print(f"  run {number}/{args.runs}: {wall:.1f}s, {result['summary_line']}", flush=True)
        runs.append(result)
    table_rows = medians([r["rows"] for r in runs])
    rows = [
        [name, row["starts_at"], row["seconds"], row["runs"]] for name, row in table_rows.items()
    ]
    table = format_table(["phase", "starts at s", "median s", "runs"], rows)
    failed = [r for r in runs if r["exit_code"] != 0]
    if failed:
        table += (
            f"\nWARNING: {len(failed)} of {len(runs)} runs failed (exit codes: "
            + ", ".join(str(r["exit_code"]) for r in failed)
            + "); their times are in the medians"
        )
    return table, {
        "command": shlex.join(pytest_argv(Path("<tmp>"), extra)),
        "runs": runs,
        "median": table_rows,
    }
