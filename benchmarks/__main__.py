"""``python -m benchmarks [NAME [options]]``: run one benchmark, or all of them in turn.

Each prints a table and writes ``<out>/NAME.json`` (default ``artifacts/benchmarks/``).
Run from the repository root, on an otherwise idle machine: they measure wall time.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import psutil

from benchmarks.output import DEFAULT_OUT, write_json

BUSY_PERCENT = 15.0  # CPU use before a benchmark above which its numbers are suspect

# NAME on the command line (and of its JSON file) → (the module that measures it, what it does).
BENCHMARKS = {
    "phases": (
        "benchmarks.phase_times",
        "the local e2e run phase by phase, median of several runs",
    ),
    "training": (
        "benchmarks.train_throughput",
        "training steps/s and images/s (cnn, linear) against the machine's FLOP rate",
    ),
    "serving": (
        "benchmarks.serving",
        "gRPC Predict latency and throughput vs a direct SavedModel call",
    ),
    "ui": (
        "benchmarks.ui",
        "warm web UI latency: page, JSON prediction, digit image",
    ),
    "history": (
        "benchmarks.history_cost",
        "the run history's cost per run (compare and record, ms) and report size, 100 runs",
    ),
    "airgap": (
        "benchmarks.airgap_kind",
        "the air-gapped kind path: build warm (and --cold), cluster create/delete, kind load",
    ),
    "kind": (
        "benchmarks.kind_e2e",
        "the kind e2e with the real KFP (--airgap): from nothing, then warm, side by side",
    ),
    "rehearsal": (
        "benchmarks.gke_rehearsal",
        "the GKE rehearsal next to the kind e2e on one cluster: phases, kind load vs push + pull",
    ),
    "faults": (
        "benchmarks.faults",
        "KFP run wall time with each ride-through fault vs none; SIGTERM's signal-to-clean",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The command line: a sub-command per benchmark, none for all of them."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure where the time goes. Without a name, runs every benchmark.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"directory for the JSON results (default {DEFAULT_OUT})",
    )
    names = parser.add_subparsers(dest="name", metavar="NAME")
    for name, (_, help_text) in BENCHMARKS.items():
        sub = names.add_parser(name, help=help_text, description=help_text)
        _module(name).add_arguments(sub)
    return parser


def _module(name: str):  # noqa: ANN202 - a benchmark module
    return importlib.import_module(BENCHMARKS[name][0])


def run_one(name: str, args: argparse.Namespace) -> Path:
    """Run benchmark *name*; print its table; write its JSON; return the JSON's path."""
    print(f"== {name}: {BENCHMARKS[name][1]}", flush=True)
    busy = psutil.cpu_percent(interval=1.0)
    if busy > BUSY_PERCENT:
        print(
            f"WARNING: the CPUs were {busy:.0f}% busy before this benchmark started; "
            "its numbers include whatever else runs",
            flush=True,
        )
    started = time.perf_counter()
    table, results = _module(name).run(args)
    elapsed = time.perf_counter() - started
    path = write_json(
        name, {**results, "benchmark_seconds": elapsed, "cpu_busy_before_percent": busy}, args.out
    )
    print(table)
    print(f"({elapsed:.0f}s; JSON: {path})\n", flush=True)
    return path


def _sigterm_is_ctrl_c() -> None:
    # As KeyboardInterrupt, SIGTERM runs every finally: servers stopped, temp dirs removed.
    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the clean-up
        raise KeyboardInterrupt(f"received signal {signum} (SIGTERM)")

    signal.signal(signal.SIGTERM, on_sigterm)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark(s) named on the command line; return the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _sigterm_is_ctrl_c()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.name:
        run_one(args.name, args)
        return 0
    for name in BENCHMARKS:
        # Each benchmark with its own defaults, as `python -m benchmarks NAME` would run it.
        defaults = parser.parse_args([name])
        defaults.out = args.out
        run_one(name, defaults)
    return 0


if __name__ == "__main__":
    sys.exit(main())
