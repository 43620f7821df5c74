"""The GKE rehearsal next to the kind e2e, in one run on one cluster, as CI runs them: the
kind e2e under ``--airgap`` from nothing with ``--keep-cluster``, then the rehearsal adopting
that cluster, then the kept cluster deleted (``teardown --kept``).

Side by side: the two e2e runs' phases, the rehearsal's stand-up, and the image's way to the
node: ``kind load`` (the kind run's image step) against the gke run's own build and push to
the local registry plus the node's first pull (from the kubelet, in the rehearsal's summary).
Needs ``tox -e airgap`` done; uses a cluster name of its own.
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.kind_e2e import ROOT, step_seconds
from benchmarks.output import format_table

REHEARSAL_SUMMARY = "rehearsal-summary.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this benchmark's options on its sub-command."""
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=ROOT / "artifacts" / "bench-rehearsal",
        help="the runs' artifacts",
    )


def _timed(argv: list[str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - started, done.returncode, done.stdout[-3000:]


def _runs(artifacts: Path) -> list[Path]:
    return sorted(p for p in artifacts.glob("mnist-e2e-*") if p.is_dir())


def step_named(steps: list[tuple[str, float | None]], words: str) -> float | None:
    """Seconds of the first plan step whose title contains *words*."""
    return next((seconds for title, seconds in steps if words in title), None)


def e2e_run(run: Path, wall: float, status: int) -> dict[str, Any]:
    """What one harness run's artifacts say: phases and plan steps."""
    phases = json.loads((run / "phases.json").read_text())
    return {
        "run": str(run),
        "passed": status == 0,
        "wall": wall,
        "phases": {p["name"]: p["seconds"] for p in phases if p.get("seconds") is not None},
        "steps": step_seconds((run / "steps.log").read_text()),
    }


def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Measure; return the table and the JSON results."""
    cluster = f"mnist-e2e-bench-{secrets.token_hex(2)}"
    kind_dir, rehearsal_dir = args.artifacts / f"{cluster}-kind", args.artifacts / f"{cluster}-gke"
    common = ["-q", "-p", "no:cacheprovider", "--no-history"]
    kind_argv = [
        sys.executable, "-m", "pytest", "e2e", *common, "--platform", "kind", "--airgap",
        "--kind-cluster", cluster, "--keep-cluster", "--artifacts-dir", str(kind_dir),
    ]  # fmt: skip
    wall, status, out = _timed(kind_argv)
    kind_runs = _runs(kind_dir)
    if not kind_runs:
        raise RuntimeError(f"no kind run artifacts under {kind_dir}:\n{out}")
    try:
        kind = e2e_run(kind_runs[-1], wall, status)
        wall, status, out = _timed(
            [sys.executable, "-m", "fixtures", "gke-rehearsal", "--kind-cluster", cluster,
             "--artifacts-dir", str(rehearsal_dir), "--", *common]
        )  # fmt: skip
        summaries = list(rehearsal_dir.glob(f"*/{REHEARSAL_SUMMARY}"))
        if not summaries:
            raise RuntimeError(f"no rehearsal summary under {rehearsal_dir}:\n{out}")
        summary = json.loads(summaries[0].read_text())
        gke_runs = [r for r in _runs(rehearsal_dir) if (r / "phases.json").is_file()]
        gke = e2e_run(gke_runs[-1], summary.get("e2e_seconds", 0.0), summary.get("pytest_exit", 1))
        gke["rehearsal_wall"], gke["rehearsal_passed"] = wall, summary.get("passed", False)
        gke["stand_up"] = {p["name"]: p["seconds"] for p in summary.get("phases", [])}
        gke["image_pulls"] = summary.get("image_pulls", [])
    finally:
        _timed(
            [sys.executable, "-m", "fixtures", "teardown", "--kept",
             str(kind_runs[-1] / "ledger.jsonl")]
        )  # fmt: skip
    return _table(kind, gke), {"cluster": cluster, "kind": kind, "gke_rehearsal": gke}


def _table(kind: dict[str, Any], gke: dict[str, Any]) -> str:
    rows: list[tuple[str, object, object]] = [
        ("passed", kind["passed"], gke["passed"] and gke["rehearsal_passed"]),
        ("wall: tox command's work (s)", kind["wall"], gke["rehearsal_wall"]),
        ("wall: the e2e run (s)", kind["wall"], gke["wall"]),
    ]
    for name, seconds in gke["stand_up"].items():
        rows.append((f"rehearsal {name} (s)", None, seconds))
    for name in dict.fromkeys([*kind["phases"], *gke["phases"]]):
        rows.append((f"phase {name} (s)", kind["phases"].get(name), gke["phases"].get(name)))
    pulls = gke["image_pulls"]
    rows += [
        ("image: kind load (s)", step_named(kind["steps"], "the project image"), None),
        ("image: gke build + push (s)", None, step_named(gke["steps"], "the project image")),
        ("image: the node's first pull (s)", None, pulls[0]["seconds"] if pulls else None),
    ]
    return format_table(["what", "kind e2e (from nothing)", "gke rehearsal (adopted)"], rows)
