"""The local e2e run phase by phase: ``pytest e2e --platform local``, N times, medians.

Each run is a fresh pytest process with its own artifacts dir; the harness writes the phase
times (``artifacts/<run-id>/phases.json``) and this reads them. Beside the harness's own
phases it reports what only the outside sees: pytest's start-up and collection before the
first phase, the exit after the last, and the peak memory of everything the run started.

Each e2e run is followed by the train step alone (``python -m pipeline.local_run``, nothing
beside it). Their ratio and difference, round by round, are the figures to drive down: what
the e2e run costs on top of training — start-up, contention with the servers starting beside
the trainer, assertions, teardown. Alternating the two shares any drift of a busy machine
between them, so the paired figures stay meaningful when the absolute times are not; they
are summarised as median and spread (:mod:`benchmarks.paired`), with a verdict only when the
spread allows one. ``--baseline DIR`` runs another checkout's e2e run in the same rounds, so
before and after come from one interleaved run.

Beside the times, the CPU seconds each process used during the train phase (sampled with
psutil): which of the run's processes competes with the trainer for the cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
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
from benchmarks.paired import Spread, against_baseline, against_target
from benchmarks.peak_memory import PeakMemory
from benchmarks.process_cpu import ProcessCpu
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
# Issue 21's goal for the e2e run: at most 15% over the train step alone, round by round.
TARGET_RATIO = 1.15
MIN_ROUNDS_FOR_VERDICT = 5


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
        "--baseline",
        type=Path,
        default=None,
        metavar="DIR",
        help="another checkout (e.g. a git worktree of main) whose e2e run alternates with this"
        " one's in every round, with the same interpreter: before/after in one run",
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


def run_to_the_end(argv: Sequence[str], cwd: Path = REPO_ROOT) -> tuple[int, str, int, ProcessCpu]:
    """Run *argv* (a pytest session) in *cwd*; its exit code, output, peak memory (bytes) and
    the CPU its processes used.

    Interrupted (Ctrl-C, or SIGTERM turned into one), it sends the session exactly one SIGTERM
    and waits for the harness to tear its run down; killing it would leave its servers behind.
    The child has its own session, so a terminal's Ctrl-C does not reach it a second time.
    """
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        with PeakMemory(process.pid) as peak, ProcessCpu(process.pid) as cpu:
            output, _ = process.communicate()
    except BaseException:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=TEARDOWN_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise
    return process.returncode, output, peak.bytes, cpu


def one_run(extra: Sequence[str], checkout: Path = REPO_ROOT) -> dict[str, Any]:
    """Run the e2e suite of *checkout* once in a fresh process; its rows, exit code, run id
    and the CPU seconds each of its processes used during the train phase."""
    with tempfile.TemporaryDirectory(prefix="mnist-bench-phases-") as tmp:
        artifacts = Path(tmp)
        launched = time.time()
        code, output, peak_bytes, cpu = run_to_the_end(pytest_argv(artifacts, extra), checkout)
        exited = time.time()
        phase_files = sorted(artifacts.glob("*/phases.json"))
        if not phase_files:
            raise RuntimeError(
                f"the e2e run wrote no phases.json (exit {code}); its output ends:\n"
                + "\n".join(output.splitlines()[-30:])
            )
        phases = json.loads(phase_files[0].read_text(encoding="utf-8"))
        train = next((p for p in phases if p["name"] == "train" and p.get("end")), None)
        return {
            "train_phase_cpu_seconds": (
                cpu.between(float(train["start"]), float(train["end"])) if train else {}
            ),
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
        before = _children_cpu()
        lines, total, code = run_timed(argv, REPO_ROOT, {"TF_CPP_MIN_LOG_LEVEL": "2"})
        cpu = _children_cpu() - before
    if code != 0:
        tail = "\n".join(line.text for line in lines[-20:])
        raise RuntimeError(f"{shlex.join(argv)} exited {code}:\n{tail}")
    return {
        "command": shlex.join(argv),
        "total": total,
        "cpu_seconds": cpu,
        "stages": train_breakdown(lines, total),
    }


def _children_cpu() -> float:
    # Every process the train step starts is waited for by its parent, so all of them count.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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


def matmul_peak() -> float | None:
    """The machine's best float32 matmul in GFLOP/s, measured in a child (no TensorFlow here).

    Seconds do not compare across machines; this says how fast the one that measured was."""
    code = (
        "from benchmarks.train_throughput import matmul_peak_gflops;"
        "print(max(matmul_peak_gflops().values()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    try:
        return float(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None


def _round(number: int, extra: Sequence[str], args: argparse.Namespace) -> dict[str, Any]:
    """One round: this checkout's e2e run, the baseline's (if any), the train step alone.

    Odd rounds run the baseline first, even rounds this checkout first, so neither always
    follows the other's teardown."""
    result: dict[str, Any] = {"load_1min": _load()}
    order = ["e2e", "baseline"] if number % 2 == 0 else ["baseline", "e2e"]
    for name in order:
        if name == "e2e":
            result["e2e"] = one_run(extra)
        elif args.baseline is not None:
            result["baseline"] = one_run(extra, args.baseline)
    if args.train_breakdown:
        result["alone"] = _breakdown_or_reason()
    return result


def _round_line(number: int, total: int, result: dict[str, Any]) -> str:
    e2e = result["e2e"]
    line = f"  round {number}/{total} (load {result['load_1min']:.1f}):"
    line += f" e2e {e2e['rows'][WALL]['seconds']:.1f}s, {e2e['summary_line']}"
    if "baseline" in result:
        line += f"; baseline e2e {result['baseline']['rows'][WALL]['seconds']:.1f}s"
    if "total" in result.get("alone", {}):
        line += f"; train step alone {result['alone']['total']:.1f}s"
    return line


def paired(rounds: Sequence[dict[str, Any]], key: str = "e2e") -> dict[str, Spread] | None:
    """Per round, the *key* e2e run's wall over and minus the train step alone, summarised."""
    pairs = [
        (r[key]["rows"][WALL]["seconds"], r["alone"]["total"])
        for r in rounds
        # a failed e2e run stopped early: its wall time says nothing about the overhead
        if key in r and r[key]["exit_code"] == 0 and "total" in r.get("alone", {})
    ]
    if not pairs:
        return None
    return {
        "ratio": Spread.of([e2e / alone for e2e, alone in pairs]),
        "gap_seconds": Spread.of([e2e - alone for e2e, alone in pairs]),
        "e2e_seconds": Spread.of([e2e for e2e, _ in pairs]),
        "alone_seconds": Spread.of([alone for _, alone in pairs]),
    }


def cpu_table(runs: Sequence[dict[str, Any]], alone: Sequence[dict[str, Any]]) -> str:
    """Median CPU seconds per process during the train phase, against the train step alone."""
    per_run = [r["train_phase_cpu_seconds"] for r in runs if r.get("train_phase_cpu_seconds")]
    if not per_run:
        return ""
    roles = sorted(
        {name for r in per_run for name in r},
        key=lambda n: -median([r.get(n, 0.0) for r in per_run]),
    )
    rows = [(name, median([r.get(name, 0.0) for r in per_run])) for name in roles]
    rows.append(("all processes", median([sum(r.values()) for r in per_run])))
    alone_cpu = [a["cpu_seconds"] for a in alone if "cpu_seconds" in a]
    text = (
        f"\n\nCPU seconds during the e2e run's train phase, per process (median of"
        f" {len(per_run)} runs; {os.cpu_count()} CPUs):\n"
    )
    text += format_table(["process", "CPU s"], rows)
    if alone_cpu:
        text += f"\ntrain step alone, all its processes: {median(alone_cpu):.1f} CPU s (median)"
    return text


def _summary(rounds: Sequence[dict[str, Any]], baseline: Path | None) -> tuple[str, dict[str, Any]]:
    """The paired figures and their verdicts, as text and JSON."""
    text, data = "", {}
    this = paired(rounds)
    if this is None:
        return text, data
    ratio, gap = this["ratio"], this["gap_seconds"]
    text += (
        f"\n\ne2e wall / train step alone: {ratio.describe('x')}"
        f"\ne2e wall - train step alone: {gap.describe(' s', 1)}"
    )
    if len(ratio.values) < MIN_ROUNDS_FOR_VERDICT:
        verdict = (
            f"no verdict: {len(ratio.values)} rounds, at least {MIN_ROUNDS_FOR_VERDICT} needed"
        )
    else:
        verdict = against_target(ratio, TARGET_RATIO)
    text += f"\nverdict: {verdict}"
    data = {name: spread.as_dict() for name, spread in this.items()} | {"verdict": verdict}
    old = paired(rounds, "baseline")
    if old is not None and baseline is not None:
        both = [
            r
            for r in rounds
            if "baseline" in r
            and r["e2e"]["exit_code"] == 0
            and r["baseline"]["exit_code"] == 0
            and "total" in r.get("alone", {})
        ]
        diffs = [
            r["e2e"]["rows"][WALL]["seconds"] - r["baseline"]["rows"][WALL]["seconds"] for r in both
        ]
        change = Spread.of([d / r["alone"]["total"] for d, r in zip(diffs, both, strict=True)])
        compared = against_baseline(change, "the ratio")
        text += (
            f"\n\nbaseline ({baseline}), same rounds:"
            f"\n  its e2e wall / train step alone: {old['ratio'].describe('x')}"
            f"\n  its e2e wall - train step alone: {old['gap_seconds'].describe(' s', 1)}"
            f"\n  this - baseline, e2e wall: {Spread.of(diffs).describe(' s', 1)}"
            f"\n  verdict: {compared}"
        )
        data["baseline"] = {
            "checkout": str(baseline),
            **{name: spread.as_dict() for name, spread in old.items()},
            "e2e_wall_change_seconds": Spread.of(diffs).as_dict(),
            "ratio_change": change.as_dict(),
            "verdict": compared,
        }
    return text, data


def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Run ``--runs`` rounds; return the table of medians and the JSON results."""
    extra = shlex.split(args.pytest_args)
    if args.baseline is not None and not (args.baseline / "e2e").is_dir():
        raise SystemExit(
            f"--baseline {args.baseline}: no e2e/ there; give a checkout of this project"
            " (git worktree add /tmp/mnist-e2e-main main)"
        )
    peak = matmul_peak()
    rounds: list[dict[str, Any]] = []
    for number in range(1, args.runs + 1):
        rounds.append(_round(number, extra, args))
        print(_round_line(number, args.runs, rounds[-1]), flush=True)
    runs = [r["e2e"] for r in rounds]
    alone = [r["alone"] for r in rounds if "alone" in r]
    loads = [r["load_1min"] for r in rounds]
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
    table += cpu_table(runs, alone)
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
    summary_text, summary = _summary(rounds, args.baseline)
    table += summary_text
    peaks = [r["peak_memory_bytes"] / GIB for r in runs]
    table += (
        f"\npeak memory of the e2e run, pytest and all it started (summed RSS):"
        f" {median(peaks):.2f} GiB median, {max(peaks):.2f} max"
        f"\nmachine load (1-minute average) at each round's start:"
        f" {', '.join(f'{load:.1f}' for load in loads)} on {os.cpu_count()} CPUs"
        f"\nmachine's matmul peak (best float32 matmul TensorFlow reaches):"
        f" {f'{peak:.0f} GFLOP/s' if peak else 'not measured'}"
    )
    round_gaps = gaps(runs, alone)
    return table, {
        "paired": summary,
        "train_breakdown": breakdown,
        "train_alone": alone,
        "gap_seconds": {"median": median(round_gaps), "rounds": round_gaps} if round_gaps else None,
        "peak_memory_gib": {"median": median(peaks), "max": max(peaks)},
        "load_average_1min": loads,
        "matmul_peak_gflops": peak,
        "command": shlex.join(pytest_argv(Path("<tmp>"), extra)),
        "rounds": rounds,
        "median": table_rows,
    }
