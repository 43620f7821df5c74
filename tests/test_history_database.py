"""The run-history file: records round-trip, the schema migrates, and a file that cannot be
used (corrupt, locked, unwritable, from a newer harness) is one HistoryUnavailable, quickly."""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
import time
from pathlib import Path

import pytest

from fixtures.history.database import MIGRATIONS, SCHEMA_VERSION, History, HistoryUnavailable
from tests.support.history_runs import SHA, run


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "history" / "history.sqlite"


def test_a_record_reads_back_as_it_was_written(path):
    written = dataclasses.replace(run(1), over_budget=("train",), flaky=2)
    with History.open(path) as history:
        history.record(written)
        assert history.get(written.run_id) == written
        assert history.count() == 1


def test_recording_a_run_again_replaces_it(path):
    with History.open(path) as history:
        history.record(run(1, accuracy=0.5, classes=[1, 2, 3]))
        history.record(run(1, accuracy=0.9, classes=[4]))
        assert history.count() == 1
        again = history.get(run(1).run_id)
        assert again.accuracy == 0.9 and [p.predicted for p in again.probes] == [4]


def test_recent_filters_and_orders_newest_first(path):
    with History.open(path) as history:
        for record in (
            run(1),
            run(2, outcome="failed"),
            run(3, platform="kind"),
            run(4, options={"model_type": "linear"}),
            run(5, sha="f" * 40),
            run(6),
        ):
            history.record(record)
        key = {"platform": "local", "options_key": run(1).options_key}
        ids = [r.run_id for r in history.recent(limit=10, **key)]
        assert ids == [run(n).run_id for n in (6, 5, 2, 1)]
        green = history.recent(limit=10, green=True, **key)
        assert [r.run_id for r in green] == [run(6).run_id, run(5).run_id, run(1).run_id]
        assert len(history.recent(limit=2, **key)) == 2
        others = history.recent(limit=10, exclude=run(6).run_id, git_sha=SHA, **key)
        assert [r.run_id for r in others] == [run(2).run_id, run(1).run_id]


def test_a_run_is_found_by_a_unique_prefix_of_its_id(path):
    with History.open(path) as history:
        history.record(run(1))
        history.record(run(2))
        assert history.get("mnist-e2e-20261201t1201").run_id == run(1).run_id
        assert history.get("mnist-e2e-20261201t1299") is None


def test_an_ambiguous_prefix_is_refused(path):
    with History.open(path) as history:
        history.record(run(1))
        history.record(run(2))
        with pytest.raises(HistoryUnavailable, match="names more than one run"):
            history.get("mnist-e2e-2026")


# -- the schema ----------------------------------------------------------------------------


def _schema_v1_file(path: Path) -> None:
    """A file as the first schema left it, holding one run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[0][1]:
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO runs (id, run_id, started_at, platform, options_key, git_sha, outcome,"
        " wall_seconds, accuracy) VALUES (1, 'mnist-e2e-20261101t120000z-0001', 1761998400.0,"
        " 'local', '{\"model_type\":\"cnn\"}', ?, 'passed', 31.5, 0.961)",
        [SHA],
    )
    db.execute("INSERT INTO phases VALUES (1, 0, 'train', 21.0)")
    db.execute("INSERT INTO tests VALUES (1, 'e2e/a.py::one', 'passed', 0.5)")
    db.commit()
    db.close()


def test_a_file_of_the_first_schema_migrates_and_keeps_its_runs(path):
    _schema_v1_file(path)
    with History.open(path) as history:
        assert history.version == SCHEMA_VERSION > 1 and not history.read_only
        (old,) = history.recent(limit=5)
        assert (old.run_id, old.phases, old.accuracy) == (
            "mnist-e2e-20261101t120000z-0001",
            {"train": 21.0},
            0.961,
        )
        assert (old.probes, old.images, old.over_budget, old.flaky) == ((), {}, (), 0)
        history.record(run(1))  # what the new schema added is written and read
        assert history.get(run(1).run_id).probes == run(1).probes
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_opening_a_current_file_migrates_nothing(path):
    with History.open(path) as history:
        history.record(run(1))
    with History.open(path) as history:
        assert history.version == SCHEMA_VERSION and history.count() == 1


def test_a_file_from_a_newer_harness_is_read_but_never_written(path):
    with History.open(path) as history:
        history.record(run(1))
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with History.open(path) as history:
        assert history.read_only
        assert f"schema version {SCHEMA_VERSION + 1}, newer than this harness's" in history.note
        assert [r.run_id for r in history.recent(limit=5)] == [run(1).run_id]
        with pytest.raises(HistoryUnavailable, match="read only"):
            history.record(run(2))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


# -- files that cannot be used -------------------------------------------------------------


def test_a_corrupt_file_is_history_unavailable(path):
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is no database " * 200)
    with pytest.raises(HistoryUnavailable, match=r"cannot read .*file is not a database"):
        History.open(path)


def test_a_locked_file_is_unavailable_after_the_busy_timeout_not_later(path):
    History.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(HistoryUnavailable, match="database is locked"):
            History.open(path, busy_timeout=0.2)
        assert time.monotonic() - started < 1.5
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_write_lock_held_elsewhere_still_lets_the_history_be_read(path):
    with History.open(path) as history:
        history.record(run(1))
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with History.open(path, busy_timeout=0.2) as history:
            assert history.count() == 1
            with pytest.raises(HistoryUnavailable, match=r"cannot write .*database is locked"):
                history.record(run(2))
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@pytest.mark.parametrize("where", ["under a file", "a directory"])
def test_a_path_that_cannot_hold_the_file_is_unavailable(tmp_path, where):
    if where == "under a file":
        (tmp_path / "plain").write_text("x")
        path = tmp_path / "plain" / "history.sqlite"
    else:
        path = tmp_path / "history.sqlite"
        path.mkdir()
    with pytest.raises(HistoryUnavailable, match="cannot open"):
        History.open(path)


def test_reading_a_missing_file_does_not_create_it(path):
    with pytest.raises(HistoryUnavailable, match="no run history at"):
        History.open(path, create=False)
    assert not path.parent.exists()
