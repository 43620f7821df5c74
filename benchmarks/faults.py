"""What faults during a real KFP run cost: each ride-through fault's run wall time against the
same run without it, and SIGTERM's signal-to-clean time.

It runs the cluster tier's fault tests (cluster_tests/test_kfp_faults.py, the SIGTERM test of
cluster_tests/test_interrupt.py) on a cluster of their own, each ride-through case
``--repeat`` times (``$MNIST_E2E_FAULT_REPEAT``), and reads the wall times they leave in
``$MNIST_E2E_FAULT_TIMES`` (cluster_tests/fault_times.py). The tests assert; this only times.
Needs ``tox -e airgap`` done; run it from the cluster env (``.tox/cluster/bin/python``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from benchmarks.output import format_table
from benchmarks.stats import median

ROOT = Path(__file__).resolve().parents[1]
SELECTED = "rides_through or sigterm_while_the_kfp_run"


def _runs(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of runs: give 1 or more (3, the default, for a median of 3)"
        )
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this benchmark's options on its sub-command."""
    parser.add_argument(
        "--repeat", type=_runs, default=3, help="runs of each ride-through case (median of them)"
    )


FAULT_NAMES = {
    "none": "no fault (baseline)",
    "api-server": "KFP API server pod deleted",
    "database": "KFP database (MySQL) pod deleted",
    "persistence-agent": "persistence agent pod deleted",
    "mlmd-stand-in": "MLMD stand-in pod deleted",
}


def summarize(lines: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Per fault: its runs' wall times, their median and its cost over the baseline's median;
    the SIGTERM runs' signal-to-clean times."""
    runs: dict[str, list[Mapping[str, Any]]] = {}
    for line in lines:
        runs.setdefault(str(line["fault"]), []).append(line)
    baseline = [r["run_seconds"] for r in runs.get("none", [])]
    base = median(baseline) if baseline else None
    faults: dict[str, Any] = {}
    for fault, measured in runs.items():
        if fault == "sigterm":
            continue
        walls = [r["run_seconds"] for r in measured]
        replaced = [r["replaced_seconds"] for r in measured if r.get("replaced_seconds")]
        away = [sum(r.get("api_away_seconds") or []) for r in measured]
        faults[fault] = {
            "run_seconds": walls,
            "median_seconds": median(walls),
            "cost_seconds": None if base is None else median(walls) - base,
            "pod_back_median_seconds": median(replaced) if replaced else None,
            "api_away_median_seconds": median(away) if any(away) else 0.0,
        }
    sigterm = [r["signal_to_clean_seconds"] for r in runs.get("sigterm", [])]
    return {"faults": faults, "sigterm_to_clean_seconds": sigterm}


def table(results: Mapping[str, Any]) -> str:
    rows: list[list[object]] = []
    for fault, found in results["faults"].items():
        rows.append(
            [
                FAULT_NAMES.get(fault, fault),
                len(found["run_seconds"]),
                found["median_seconds"],
                found["cost_seconds"] if fault != "none" else "-",
                found["pod_back_median_seconds"] or "-",
                found["api_away_median_seconds"],
            ]
        )
    for seconds in results["sigterm_to_clean_seconds"]:
        rows.append(["SIGTERM during the run: signal to clean", 1, seconds, "-", "-", "-"])
    return format_table(
        ["fault", "runs", "run s (median)", "cost s", "pod back s", "API away s"], rows
    )


def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as scratch:
        times = Path(scratch) / "times.jsonl"
        done = subprocess.run(
            [
                sys.executable, "-m", "pytest", "cluster_tests", "-p", "no:cacheprovider",
                "-q", "-k", SELECTED,
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "MNIST_E2E_FAULT_TIMES": str(times),
                "MNIST_E2E_FAULT_REPEAT": str(args.repeat),
            },
            capture_output=True,
            text=True,
            timeout=4 * 3600,
        )  # fmt: skip
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-30:])
            raise RuntimeError(f"the fault tests failed; nothing is timed from them:\n{tail}")
        lines = [json.loads(line) for line in times.read_text(encoding="utf-8").splitlines()]
    results = {"repeat": args.repeat, **summarize(lines)}
    return table(results), results
