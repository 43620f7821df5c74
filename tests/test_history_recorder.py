"""The end of a run in history: compared, then recorded; a file that cannot be used costs one
warning line and nothing else."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from fixtures.history.database import SCHEMA_VERSION, History
from fixtures.history.recorder import record_and_compare
from fixtures.history.report_section import terminal_lines
from tests.support.history_runs import PHASES, run


def finish(path, record, **options):
    settings = {"window": 10, "explicit_budgets": {}, "factor": 1.5, "margin": 0.01} | options
    return record_and_compare(path, record, **settings)


def warnings(result) -> list[str]:
    return [line for line, _ in terminal_lines(result, fail_on_budget=False) if "WARNING" in line]


def test_the_second_run_is_compared_with_the_first_then_both_are_recorded(tmp_path):
    path = tmp_path / "history.sqlite"
    first = finish(path, run(1))
    assert first.recorded and first.runs_in_file == 1 and first.comparison.last_green is None
    second = finish(path, run(2, phases={**PHASES, "train": 45.0}))
    assert second.comparison.last_green.run_id == run(1).run_id
    assert [p.name for p in second.comparison.over_budget] == ["train"]
    assert [r.run_id for r in second.earlier] == [run(1).run_id]
    with History.open(path) as history:
        assert history.get(run(2).run_id).over_budget == ("train",)
    assert warnings(second) == []


def test_a_failed_run_is_recorded_but_is_no_baseline(tmp_path):
    path = tmp_path / "history.sqlite"
    finish(path, run(1, outcome="failed", phases={"train": 100.0}))
    later = finish(path, run(2))
    assert later.comparison.last_green is None and later.earlier[0].outcome == "failed"


def test_without_a_file_explicit_budgets_still_apply(tmp_path):
    result = finish(None, run(1), explicit_budgets={"train": 1.0})
    assert [p.name for p in result.comparison.over_budget] == ["train"]
    assert not result.recorded and result.warning is None


def test_a_corrupt_file_costs_one_warning_line_and_is_left_as_it_was(tmp_path):
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"garbage" * 500)
    result = finish(path, run(1), explicit_budgets={"train": 1.0})
    assert not result.recorded
    (line,) = warnings(result)
    assert "file is not a database" in line and "not compared" in line
    assert [p.name for p in result.comparison.over_budget] == ["train"]
    assert path.read_bytes() == b"garbage" * 500


def test_a_locked_file_costs_one_warning_line_and_no_more_than_the_busy_timeout(tmp_path):
    path = tmp_path / "history.sqlite"
    finish(path, run(1))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        result = finish(path, run(2), busy_timeout=0.3)
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    (line,) = warnings(result)
    assert "database is locked" in line
    assert elapsed < 2.0 and not result.recorded


def test_a_file_another_run_is_writing_is_compared_and_the_write_warns_once(tmp_path):
    path = tmp_path / "history.sqlite"
    finish(path, run(1))
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        result = finish(path, run(2), busy_timeout=0.3)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert result.comparison.last_green.run_id == run(1).run_id
    (line,) = warnings(result)
    assert "not recorded" in line


def test_a_newer_schema_is_compared_with_but_not_written(tmp_path):
    path = tmp_path / "history.sqlite"
    finish(path, run(1))
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    before = path.read_bytes()
    result = finish(path, run(2))
    assert result.comparison.last_green is not None and not result.recorded
    (line,) = warnings(result)
    assert "newer than this harness's" in line
    assert path.read_bytes() == before


@pytest.mark.parametrize("window", [1, 3])
def test_flaky_tests_are_looked_for_over_the_window_at_this_sha(tmp_path: Path, window: int):
    path = tmp_path / "history.sqlite"
    finish(path, run(1, outcome="failed", tests={"t": "failed"}))
    finish(path, run(2, tests={"t": "passed"}))
    result = finish(path, run(3, tests={"t": "passed"}), window=window)
    assert len(result.comparison.flaky) == (1 if window == 3 else 0)
