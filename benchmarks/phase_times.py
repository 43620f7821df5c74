"""The local e2e run phase by phase: ``pytest e2e --platform local``, N times, medians.

Each run is a fresh pytest process with its own artifacts dir; the harness writes the phase
times (``artifacts/<run-id>/phases.json``) and this reads them. Beside the harness's own
phases it reports what only the outside sees: pytest's start-up and collection before the
first phase, the exit after the last, and the peak memory of everything the run started.

Each e2e run is followed by the train step alone (``python -m pipeline.local_run``, nothing
beside it). Their difference, round by round, is the figure to drive down: what the e2e run
costs on top of training — start-up, contention with the servers starting beside the
trainer, assertions, teardown. Alternating the two shares any drift of a busy machine between
them, so the gap stays meaningful when the absolute times are not.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.output import format_table
from benchmarks.peak_memory import PeakMemory
from benchmarks.stack import REPO_ROOT
from benchmarks.stats import median
from benchmarks.timeline import Line, run_timed, stages
from benchmarks.trainlog import split_from_files
from fixtures.phases import PHASES

TEARDOWN_GRACE_SECONDS = 120.0  # what an interrupted e2e run gets to tear itself down
STARTUP = "pytest start-up"
EXIT = "pytest exit"
WALL = "total (process wall)"
GIB = 2**30


# The local platform's train step (python -m pipeline.local_run: the pipeline's train
# component under kfp.local) prints these lines as its stages end, in this order.
TRAIN_MARKS = (
    ("kfp.local start-up", r"Executing task"),
    ("component start-up, data load", r"^\s*data: "),
    ("TensorFlow import, model build, training", r"^\s*trained \w+ for \d+ steps in"),
    ("checkpoint, test-set evaluation", r"^\s*test_accuracy="),
    ("SavedModel export", r"^\s*exported version"),
    ("component exit, kfp.local wrap-up", r"^pipeline\.local_run: accuracy"),
)
TRAINED = re.compile(r"^\s*trained \w+ for \d+ steps in (?P<seconds>[\d.]+)s")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this benchmark's options on its sub-command."""
    parser.add_argument(
        "--runs", type=int, default=3, help="rounds (an e2e run, then the train step alone) (3)"
    )
    parser.add_argument(
        "--no-train-breakdown",
        dest="train_breakdown",
        action="store_false",
        help="skip the train step alone after each e2e run (and so the gap between them)",
    )
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


def run_to_the_end(argv: Sequence[str]) -> tuple[int, str, int]:
    """Run *argv* (a pytest session); its exit code, output and peak memory (bytes).

    Interrupted (Ctrl-C, or SIGTERM turned into one), it sends the session exactly one SIGTERM
    and waits for the harness to tear its run down; killing it would leave its servers behind.
    The child has its own session, so a terminal's Ctrl-C does not reach it a second time.
    """
    process = subprocess.Popen(
        list(argv),
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        with PeakMemory(process.pid) as peak:
            output, _ = process.communicate()
    except BaseException:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=TEARDOWN_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise
    return process.returncode, output, peak.bytes


def one_run(extra: Sequence[str]) -> dict[str, Any]:
    """Run the e2e suite once in a fresh process; its rows, exit code and run id."""
    with tempfile.TemporaryDirectory(prefix="mnist-bench-phases-") as tmp:
        artifacts = Path(tmp)
        launched = time.time()
        code, output, peak_bytes = run_to_the_end(pytest_argv(artifacts, extra))
        exited = time.time()
        phase_files = sorted(artifacts.glob("*/phases.json"))
        if not phase_files:
            raise RuntimeError(
                f"the e2e run wrote no phases.json (exit {code}); its output ends:\n"
                + "\n".join(output.splitlines()[-30:])
            )
        phases = json.loads(phase_files[0].read_text(encoding="utf-8"))
        return {
            "train_split": split_from_files(phase_files[0].parent, phases),
            "run_id": phase_files[0].parent.name,
            "exit_code": code,
            "peak_memory_bytes": peak_bytes,
            "summary_line": (output.strip().splitlines() or [""])[-1],
            "rows": phase_seconds(phases, launched, exited),
        }


def train_breakdown(lines: list[Line], total: float) -> dict[str, float]:
    """Seconds per stage of one train step, the training steps apart from their set-up."""
    result = stages(lines, TRAIN_MARKS, total)
    trained = next(m for line in lines if (m := TRAINED.search(line.text)))
    steps = float(trained["seconds"])
    breakdown = {}
    for name, seconds in result.items():
        if name == "TensorFlow import, model build, training":
            breakdown["TensorFlow import, model build, first-step tracing"] = seconds - steps
            breakdown["training steps"] = steps
        else:
            breakdown[name] = seconds
    return breakdown


def standalone_training(steps: int = 200) -> dict[str, Any]:
    """The local platform's train step run alone (no servers beside it), split into stages."""
    with tempfile.TemporaryDirectory(prefix="mnist-bench-train-") as tmp:
        argv = [
            sys.executable,
            "-m",
            "pipeline.local_run",
            "--export-dir",
            f"{tmp}/export",
            "--pipeline-root",
            f"{tmp}/kfp-local",
            "--metrics-path",
            f"{tmp}/metrics.json",
            "--train-steps",
            str(steps),
        ]
        lines, total, code = run_timed(argv, REPO_ROOT, {"TF_CPP_MIN_LOG_LEVEL": "2"})
    if code != 0:
        tail = "\n".join(line.text for line in lines[-20:])
        raise RuntimeError(f"{shlex.join(argv)} exited {code}:\n{tail}")
    return {"command": shlex.join(argv), "total": total, "stages": train_breakdown(lines, total)}


def _breakdown_or_reason() -> dict[str, Any]:
    # After minutes of e2e runs, a changed log format must cost the breakdown, not the rest.
    try:
        return standalone_training()
    except (RuntimeError, ValueError) as exc:
        return {"unavailable": str(exc)}


def gaps(runs: Sequence[dict[str, Any]], alone: Sequence[dict[str, Any]]) -> list[float]:
    """Per round, the e2e run's wall time minus the train step's alone (rounds that have both)."""
    return [
        run["rows"][WALL]["seconds"] - train["total"]
        for run, train in zip(runs, alone, strict=False)
        if "total" in train
    ]


def median_breakdown(alone: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The standalone train step's stages and total, median over the runs that measured them."""
    measured = [a for a in alone if "stages" in a]
    if not measured:
        return None
    return {
        "command": measured[0]["command"],
        "runs": len(measured),
        "stages": {
            name: median([a["stages"][name] for a in measured]) for name in measured[0]["stages"]
        },
        "total": median([a["total"] for a in measured]),
    }


def _load() -> float:
    return os.getloadavg()[0]


def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Run ``--runs`` rounds; return the table of medians and the JSON results."""
    extra = shlex.split(args.pytest_args)
    runs: list[dict[str, Any]] = []
    alone: list[dict[str, Any]] = []
    loads: list[float] = []
    for number in range(1, args.runs + 1):
        loads.append(_load())
        result = one_run(extra)
        wall = result["rows"][WALL]["seconds"]
        line = f"  round {number}/{args.runs}: e2e {wall:.1f}s, {result['summary_line']}"
        runs.append(result)
        if args.train_breakdown:
            alone.append(_breakdown_or_reason())
            if "total" in alone[-1]:
                line += f"; train step alone {alone[-1]['total']:.1f}s"
        print(f"{line} (load {loads[-1]:.1f})", flush=True)
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
    splits = [r["train_split"] for r in runs if r["train_split"]]
    if splits:
        table += (
            f"\n\ninside the train phase (median of {len(splits)} runs, from logs/train.log):\n"
        )
        table += format_table(
            ["part", "median s"], [(name, median([s[name] for s in splits])) for name in splits[0]]
        )
    breakdown = median_breakdown(alone)
    unavailable = [a["unavailable"] for a in alone if "unavailable" in a]
    if unavailable:
        table += f"\n\ntrain step breakdown unavailable: {unavailable[0]}"
    if breakdown:
        table += (
            f"\n\ntrain step alone, no servers beside it (median of {breakdown['runs']}:"
            f" {breakdown['command']}):\n"
        )
        table += format_table(
            ["stage", "median s"],
            [*breakdown["stages"].items(), ("total", breakdown["total"])],
        )
    round_gaps = gaps(runs, alone)
    if round_gaps:
        table += (
            f"\n\ne2e wall minus the train step alone: {median(round_gaps):.1f}s"
            f" (median of {len(round_gaps)} rounds: {', '.join(f'{g:.1f}' for g in round_gaps)})"
        )
    peaks = [r["peak_memory_bytes"] / GIB for r in runs]
    table += (
        f"\npeak memory of the e2e run, pytest and all it started (summed RSS):"
        f" {median(peaks):.2f} GiB median, {max(peaks):.2f} max"
        f"\nmachine load (1-minute average) at each round's start:"
        f" {', '.join(f'{load:.1f}' for load in loads)} on {os.cpu_count()} CPUs"
    )
    return table, {
        "train_breakdown": breakdown,
        "train_alone": alone,
        "gap_seconds": {"median": median(round_gaps), "rounds": round_gaps} if round_gaps else None,
        "peak_memory_gib": {"median": median(peaks), "max": max(peaks)},
        "load_average_1min": loads,
        "command": shlex.join(pytest_argv(Path("<tmp>"), extra)),
        "runs": runs,
        "median": table_rows,
    }
