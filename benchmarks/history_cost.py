"""What the run history costs a run: milliseconds to compare and record it against a file of
100 earlier runs, and the bytes it adds to the report.

The earlier runs are synthetic, shaped like a local run's: the six phases with their usual
seconds and some noise, 27 tests (one flaky), 100 probe digits with a few changing class.
Each round compares and records one more run, as the end of a session does.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.output import format_table
from benchmarks.stats import median, percentile
from fixtures import prediction_log, report
from fixtures.config import BUDGET_FACTOR
from fixtures.history import report_section
from fixtures.history.database import History
from fixtures.history.recorder import record_and_compare
from fixtures.history.records import GREEN, Probe, RunRecord, TestResult
from fixtures.phases import (
    ASSERTIONS,
    PROVISION,
    SERVE_READY,
    TEARDOWN,
    TRAIN,
    UI_READY,
    Phase,
    PhaseClock,
)
from source_tree.image_tag import git_revision

ROOT = Path(__file__).resolve().parents[1]
# A local run's phases as measured (docs/history.md): name → (starts at, seconds).
PHASES = {
    PROVISION: (0.0, 0.9),
    TRAIN: (0.9, 23.1),
    SERVE_READY: (0.9, 23.1),
    UI_READY: (0.9, 23.1),
    ASSERTIONS: (24.1, 3.6),
    TEARDOWN: (27.8, 0.4),
}
TESTS = 27
PROBES = 100
OPTIONS = {"model_type": "cnn", "train_steps": 200, "batch_size": 100, "learning_rate": 0.01}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this benchmark's options on its sub-command."""
    parser.add_argument("--history", type=int, default=100, help="earlier runs in the file (100)")
    parser.add_argument("--rounds", type=int, default=30, help="runs compared and recorded (30)")


def synthetic_run(n: int, rng: random.Random) -> RunRecord:
    """The *n*-th run: the phases above with ±15% noise, one flaky test in ten runs, a few
    probe digits answered differently."""
    phases = {name: seconds * rng.uniform(0.85, 1.15) for name, (_, seconds) in PHASES.items()}
    flaky_failed = rng.random() < 0.1
    tests = tuple(
        TestResult(
            f"e2e/test_suite.py::test_{i}",
            "failed" if i == 0 and flaky_failed else "passed",
            rng.uniform(0.01, 1.0),
        )
        for i in range(TESTS)
    )
    probes = tuple(
        Probe(i, (i * 7 + (1 if rng.random() < 0.02 else 0)) % 10, rng.uniform(0.5, 1.0))
        for i in range(PROBES)
    )
    return RunRecord(
        run_id=f"mnist-e2e-20261201t{n // 60:04d}{n % 60:02d}z-{n % 65536:04x}",
        started_at=1_764_590_400.0 + 120 * n,
        platform="local",
        options=OPTIONS,
        git_sha="0123456789abcdef0123456789abcdef01234567",
        outcome="failed" if flaky_failed else GREEN,
        wall_seconds=sum(phases.values()),
        phases=phases,
        accuracy=0.96 + rng.uniform(-0.004, 0.004),
        tests=tests,
        probes=probes,
    )


def _clock(run: RunRecord) -> PhaseClock:
    start = run.started_at
    return PhaseClock(
        [
            Phase(name, start + offset, start + offset + run.phases[name], True)
            for name, (offset, _) in PHASES.items()
        ]
    )


def _report_bytes(run_dir: Path, run: RunRecord, section: str, notes: dict[str, str]) -> int:
    summary = {"run_id": run.run_id, "platform": run.platform, "options": OPTIONS}
    page = report.render(summary, _clock(run), run_dir, phase_notes=notes, sections=[section])
    return len(page.encode())


def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Measure; return the table and the JSON results."""
    rng = random.Random(19)
    with tempfile.TemporaryDirectory(prefix="mnist-bench-history-") as scratch:
        tmp = Path(scratch)
        path = tmp / "history.sqlite"
        with History.open(path) as history:
            for n in range(args.history):
                history.record(synthetic_run(n, rng))

        git = []
        for _ in range(5):
            started = time.perf_counter()
            git_revision(ROOT)
            git.append((time.perf_counter() - started) * 1000)

        totals, renders = [], []
        for n in range(args.history, args.history + args.rounds):
            result = record_and_compare(
                path,
                synthetic_run(n, rng),
                window=10,
                explicit_budgets={},
                factor=BUDGET_FACTOR,
                margin=0.01,
            )
            assert result.recorded, result.warning
            totals.append(result.milliseconds)
            started = time.perf_counter()
            report_section.terminal_lines(result, fail_on_budget=False)
            report_section.html_section(result, fail_on_budget=False)
            renders.append((time.perf_counter() - started) * 1000)

        sizes = {}
        run_dir = tmp / "run"
        run_dir.mkdir()
        # A run's own predictions, as the e2e suite leaves them: the confusion matrix's input.
        labels = np.array([rng.randrange(10) for _ in range(1000)])
        probabilities = np.eye(10)[labels] * 0.9 + 0.01
        prediction_log.write(run_dir, labels, labels, probabilities)
        for window in (10, args.history):
            result = record_and_compare(
                path,
                synthetic_run(10_000 + window, rng),
                window=window,
                explicit_budgets={},
                factor=BUDGET_FACTOR,
                margin=0.01,
            )
            notes = report_section.phase_notes(result.comparison)
            section = report_section.html_section(result, fail_on_budget=False)
            without = report.render(
                {"run_id": "r", "platform": "local", "options": OPTIONS},
                _clock(result.comparison.run),
                run_dir,
            )
            sizes[window] = {
                "report_bytes": _report_bytes(run_dir, result.comparison.run, section, notes),
                "history_section_bytes": len(section.encode()),
                "report_without_history_bytes": len(without.encode()),
            }
        file_bytes = path.stat().st_size
        file_runs = args.history + args.rounds + len(sizes)
    results = {
        "history_runs": args.history,
        "rounds": args.rounds,
        "record_and_compare_ms": {"median": median(totals), "p90": percentile(totals, 90)},
        "render_terminal_and_html_ms": {"median": median(renders), "p90": percentile(renders, 90)},
        "git_revision_ms": {"median": median(git)},
        "file_bytes": file_bytes,
        "file_runs": file_runs,
        "report": {f"window_{w}": size for w, size in sizes.items()},
    }
    rows = [
        ["open, read, compare, record (ms)", median(totals), percentile(totals, 90)],
        ["render terminal lines and HTML section (ms)", median(renders), percentile(renders, 90)],
        ["read the git SHA, 2 git commands (ms)", median(git), max(git)],
    ]
    table = format_table(["per run, against 100 earlier runs", "median", "p90"], rows)
    size_rows = [
        [
            f"--history-runs {w}",
            s["report_without_history_bytes"],
            s["history_section_bytes"],
            s["report_bytes"],
        ]
        for w, s in sizes.items()
    ]
    table += "\n\n" + format_table(
        ["report (no screenshot)", "without history B", "history section B", "whole report B"],
        size_rows,
    )
    table += f"\n\nhistory file with {file_runs} runs: {file_bytes:,} bytes"
    return table, results
