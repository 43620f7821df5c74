"""``python -m fixtures history``: the recent runs as a table or JSON, two runs side by side."""

from __future__ import annotations

import json

import pytest

from fixtures.__main__ import main
from fixtures.history.database import History
from tests.support.history_runs import PHASES, run


@pytest.fixture
def path(tmp_path):
    path = tmp_path / "history.sqlite"
    with History.open(path) as history:
        history.record(run(1, accuracy=0.961, classes=[7, 2, 1, 0, 4]))
        history.record(
            run(
                2,
                outcome="failed",
                phases={**PHASES, "train": 31.5},
                accuracy=0.95,
                tests={"e2e/a.py::one": "failed", "e2e/a.py::two": "passed"},
                classes=[7, 2, 1, 6, 4],
            )
        )
        history.record(run(3, platform="kind", accuracy=0.98))
    return path


def history(path, *args):
    return main(["history", "--history", str(path), *args])


def test_the_table_lists_the_recent_runs_newest_first(path, capsys):
    assert history(path) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["run", "started", "(UTC)", "platform", "outcome"]
    assert [line.split()[0] for line in lines[2:]] == [run(n).run_id for n in (3, 2, 1)]
    failed = next(line for line in lines if run(2).run_id in line)
    assert "failed" in failed and "train 31.5" in failed and "0.9500" in failed


def test_platform_and_runs_narrow_the_list(path, capsys):
    history(path, "--platform", "local", "--runs", "1")
    (only,) = capsys.readouterr().out.splitlines()[2:]
    assert only.startswith(run(2).run_id)


def test_json_lists_whole_records(path, capsys):
    history(path, "--json", "--platform", "local")
    runs = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in runs] == [run(2).run_id, run(1).run_id]
    assert runs[0]["slowest_phase"] == {"name": "train", "seconds": 31.5}
    assert runs[0]["tests"][0] == {"nodeid": "e2e/a.py::one", "outcome": "failed", "seconds": 0.5}


def test_compare_puts_two_runs_side_by_side_and_names_what_changed(path, capsys):
    assert history(path, "--compare", run(1).run_id, run(2).run_id[:24]) == 0
    out = capsys.readouterr().out
    assert "  train" in out and "+11.50" in out and "-0.0110" in out
    assert "test e2e/a.py::one: passed → failed" in out
    assert "probe digits that changed class: #3 0→6" in out


def test_compare_as_json(path, capsys):
    history(path, "--compare", run(1).run_id, run(2).run_id, "--json")
    changed = json.loads(capsys.readouterr().out)["changed"]
    assert changed["tests"] == {"e2e/a.py::one": ["passed", "failed"]}
    assert [(d["index"], d["before"], d["after"]) for d in changed["drift"]] == [(3, 0, 6)]


def test_an_unknown_run_is_a_usage_error(path, capsys):
    with pytest.raises(SystemExit) as exited:
        history(path, "--compare", run(1).run_id, "mnist-e2e-nope")
    assert exited.value.code == 2
    assert "no run 'mnist-e2e-nope' in" in capsys.readouterr().err


def test_a_missing_file_says_so_and_is_not_created(tmp_path, capsys):
    assert history(tmp_path / "none.sqlite") == 1
    assert "no run history at" in capsys.readouterr().out
    assert not (tmp_path / "none.sqlite").exists()
