"""The kind e2e under ``--airgap`` with the real Kubeflow Pipelines, side by side in one run:
from nothing (cluster create → KFP install → pipeline run → tests, the cluster kept), then
warm (the same cluster and KFP adopted), then the first run's teardown (the cluster deleted).

Per run: wall time, the harness's phases, each step of its plan (from the run's
``steps.log``), and KFP's own clock per pipeline step (driver, executor) from ``kfp-run.json``.
Needs ``tox -e airgap`` done; uses a cluster name of its own.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import subprocess
import sys
import time
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from benchmarks.output import format_table
from fixtures.kfp.kfp_task_times import step_times

ROOT = Path(__file__).resolve().parents[1]
_STEP_LINE = re.compile(r"^(\d\d:\d\d:\d\d) (\w+ \d+/\d+: .+)$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this benchmark's options on its sub-command."""
    parser.add_argument(
        "--artifacts", type=Path, default=ROOT / "artifacts" / "bench-kind", help="runs' artifacts"
    )


def step_seconds(log: str) -> list[tuple[str, float | None]]:
    """Each plan step of a ``steps.log`` with the seconds until the next one started (the
    last step's end is not logged: None)."""
    stamps: list[tuple[str, datetime]] = []
    last: datetime | None = None
    for line in log.splitlines():
        stamp = datetime.strptime(line[:8], "%H:%M:%S") if line[:8].count(":") == 2 else None
        if stamp is None:
            continue
        if last is not None and stamp < last:  # past midnight
            stamp += timedelta(days=1)
        last = stamp
        match = _STEP_LINE.match(line)
        if match and "FAILED" not in line and "stopped" not in line:
            stamps.append((match.group(2), stamp))
    if last is None or not stamps:
        return []
    pairs = pairwise(stamps)
    timed: list[tuple[str, float | None]] = [
        (title, (end - start).total_seconds()) for (title, start), (_, end) in pairs
    ]
    return [*timed, (stamps[-1][0], None)]


def _pytest(artifacts: Path, cluster: str, *extra: str) -> tuple[float, Path, int]:
    argv = [sys.executable, "-m", "pytest", "e2e", "-q", "-p", "no:cacheprovider",
            "--platform", "kind", "--airgap", "--kind-cluster", cluster,
            "--artifacts-dir", str(artifacts), "--no-history", *extra]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - started
    runs = sorted(p for p in artifacts.glob("mnist-e2e-*") if p.is_dir())
    if not runs:
        raise RuntimeError(f"no run artifacts under {artifacts}:\n{done.stdout[-3000:]}")
    return seconds, runs[-1], done.returncode


def _describe(label: str, seconds: float, run: Path, status: int) -> dict[str, Any]:
    phases = json.loads((run / "phases.json").read_text())
    kfp_run = run / "kfp-run.json"
    kfp = step_times(json.loads(kfp_run.read_text())) if kfp_run.is_file() else []
    return {
        "label": label,
        "passed": status == 0,
        "wall": seconds,
        "run": str(run),
        "phases": {p["name"]: p["seconds"] for p in phases if p.get("seconds") is not None},
        "steps": step_seconds((run / "steps.log").read_text()),
        "kfp": [{"step": t.step, "driver": t.driver, "executor": t.executor} for t in kfp],
    }


def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Measure; return the table and the JSON results."""
    cluster = f"mnist-e2e-bench-{secrets.token_hex(2)}"
    first = args.artifacts / f"{cluster}-cold"
    second = args.artifacts / f"{cluster}-warm"
    cold = _describe("from nothing", *_pytest(first, cluster, "--keep"))
    try:
        warm = _describe("warm (cluster and KFP adopted)", *_pytest(second, cluster))
    finally:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "fixtures", "teardown", str(Path(cold["run"]) / "ledger.jsonl")],
            cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        teardown = time.perf_counter() - started
    return _table(cold, warm, teardown), {"cold": cold, "warm": warm, "kept_teardown": teardown}


def _table(cold: dict[str, Any], warm: dict[str, Any], teardown: float) -> str:
    def num(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    rows: list[tuple[str, str, str]] = [
        ("e2e wall (pytest start to end)", num(cold["wall"]), num(warm["wall"])),
        ("passed", str(cold["passed"]), str(warm["passed"])),
    ]
    for name in dict.fromkeys([*cold["phases"], *warm["phases"]]):
        rows.append((f"phase {name}", num(cold["phases"].get(name)), num(warm["phases"].get(name))))
    # by position ("provision 2/6"): a title may name the run (its namespace)
    warm_steps = {title.split(": ", 1)[0]: seconds for title, seconds in warm["steps"]}
    for title, seconds in cold["steps"]:
        where, what = title.split(": ", 1)
        rows.append((f"step {what}", num(seconds), num(warm_steps.get(where))))
    for c, w in zip(cold["kfp"], warm["kfp"] or [{}] * len(cold["kfp"]), strict=False):
        for part in ("driver", "executor"):
            rows.append((f"KFP {c['step']} {part}", num(c[part]), num(w.get(part))))
    rows.append(("teardown of the kept run (cluster delete)", num(teardown), ""))
    return format_table(["what", "from nothing", "warm"], rows)
