"""Run history through the plugin: a real pytest session is compared with the one before it,
flags a phase over budget (and fails with --fail-on-budget), and a bad history file costs one
warning line.

The session's test stands in for provisioning by writing the run's ``run.json`` with the
phases a real run would have timed: history reads exactly that file, and nothing here could
make a real phase slow on demand.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from fixtures.history.database import History

ROOT = Path(__file__).resolve().parents[1]

PROVISIONED = """
import json, os, time

def test_the_run(run_artifacts, run_id):
    now = time.time()
    train = float(os.environ.get("TRAIN_SECONDS", "20"))
    phases = [
        {"name": "provision", "start": now - train - 1, "end": now - train, "ok": True},
        {"name": "train", "start": now - train, "end": now, "ok": True},
    ]
    info = {"run_id": run_id, "platform": "local", "ready_at": now, "phases": phases,
            "outcome": {"steps": ["train"], "succeeded": True, "train_accuracy": 0.96}}
    (run_artifacts / "run.json").write_text(json.dumps(info))
"""
PLUGINS = ("-p", "fixtures.plugin", "-p", "fixtures.e2e_fixtures", "-p", "no:cacheprovider")


@pytest.fixture
def session(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_run=PROVISIONED)
    return pytester


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(*PLUGINS, *args)


def _run_id(result: pytest.RunResult) -> str:
    match = re.search(r"mnist-e2e run (mnist-e2e-\S+) \(local\)", result.stdout.str())
    assert match, result.stdout.str()
    return match.group(1)


def _summary(pytester: pytest.Pytester, run_id: str) -> dict:
    return json.loads((pytester.path / "artifacts" / run_id / "summary.json").read_text())


def test_the_second_run_is_compared_with_the_first(session, monkeypatch):
    first = _run(session)
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(
        ["*history: no earlier green run of local with these options in*nothing to compare*"]
    )
    monkeypatch.setenv("TRAIN_SECONDS", "45")
    second = _run(session)

    assert second.ret == pytest.ExitCode.OK  # flagged, not failed, without --fail-on-budget
    first_id, second_id = _run_id(first), _run_id(second)
    second.stdout.fnmatch_lines(
        [
            f"*history: compared with the last green run {first_id}*median of 1 green run*",
            "phase * this run * last green * median * budget",
            "train * 45.00 * 20.00 * 20.00 * 30.00 (1.5x median of 1 green run)",
            "*OVER BUDGET: train took 45.00s, its budget is 30.00s*",
            "*history: recorded (2 runs in *history.sqlite*",
        ]
    )
    second.stdout.fnmatch_lines(["train * 45.00 * ok  OVER BUDGET (30.00s, 1.5x median*"])
    history = _summary(session, second_id)["history"]
    assert history["compared_with"] == first_id and list(history["over_budget"]) == ["train"]
    report = (session.path / "artifacts" / second_id / "report.html").read_text()
    assert "<h2>History</h2>" in report and "OVER BUDGET" in report and "<svg" in report


def test_fail_on_budget_fails_a_session_whose_tests_passed(session):
    result = _run(session, "--phase-budget", "train=1s", "--fail-on-budget")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*OVER BUDGET: train took 20.00s, its budget is 1.00s (--phase-budget)"
         " (--fail-on-budget: the session fails)"]
    )  # fmt: skip


def test_no_history_records_nothing_but_explicit_budgets_still_flag(session):
    result = _run(session, "--no-history", "--phase-budget", "train=1s")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*OVER BUDGET: train took 20.00s*"])
    assert "history:" not in result.stdout.str()
    assert not (session.path / "artifacts" / "history.sqlite").exists()


def test_a_corrupt_history_costs_one_warning_line(session):
    history = session.path / "artifacts" / "history.sqlite"
    history.parent.mkdir()
    history.write_bytes(b"not sqlite " * 100)
    result = _run(session)
    assert result.ret == pytest.ExitCode.OK
    warnings = [line for line in result.stdout.lines if "WARNING" in line]
    assert len(warnings) == 1, warnings
    assert "file is not a database" in warnings[0]


def test_a_locked_history_costs_one_warning_line_and_does_not_hang(session):
    _run(session)
    holder = sqlite3.connect(session.path / "artifacts" / "history.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = _run(session)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.ret == pytest.ExitCode.OK
    warnings = [line for line in result.stdout.lines if "WARNING" in line]
    assert len(warnings) == 1 and "database is locked" in warnings[0], warnings


def test_under_xdist_only_the_controller_records(session, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    session.makepyfile(test_more="def test_more():\n    pass\n")
    result = _run(session, "-n", "2")
    result.assert_outcomes(passed=2)
    with History.open(session.path / "artifacts" / "history.sqlite") as history:
        (recorded,) = history.recent(limit=5)
    assert recorded.run_id == _run_id(result)
    assert sorted(t.nodeid for t in recorded.tests) == [
        "test_more.py::test_more",
        "test_run.py::test_the_run",
    ]
