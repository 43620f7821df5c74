"""The pure parts of the phases benchmark: rows from a phases.json, medians, the command."""

import sys
from pathlib import Path

import pytest

from benchmarks.phase_times import EXIT, STARTUP, WALL, medians, phase_seconds, pytest_argv

PHASES_JSON = [
    {"name": "provision", "start": 102.0, "end": 102.5, "ok": True},
    {"name": "train", "start": 102.5, "end": 118.5, "ok": True},
    {"name": "serve ready", "start": 102.5, "end": 119.0, "ok": True},
    {"name": "assertions", "start": 119.0, "end": 121.0, "ok": True},
    {"name": "teardown", "start": 121.0, "end": 122.0, "ok": True},
    {"name": "ui ready", "start": 102.6, "end": None, "ok": None},
]


def test_rows_are_offsets_from_launch_and_durations():
    rows = phase_seconds(PHASES_JSON, launched=100.0, exited=123.5)
    assert rows[STARTUP] == {"starts_at": 0.0, "seconds": 2.0}
    assert rows["train"] == {"starts_at": 2.5, "seconds": 16.0}
    assert rows["teardown"] == {"starts_at": 21.0, "seconds": 1.0}
    assert rows[EXIT] == {"starts_at": 22.0, "seconds": 1.5}
    assert rows[WALL] == {"starts_at": 0.0, "seconds": 23.5}
    assert "ui ready" not in rows  # never finished: no duration to report


def test_no_phases_leaves_only_the_wall_time():
    assert phase_seconds([], launched=1.0, exited=4.0) == {WALL: {"starts_at": 0.0, "seconds": 3.0}}


def test_medians_per_row_in_phase_order():
    runs = [
        {"train": {"starts_at": 2.0, "seconds": 10.0}, WALL: {"starts_at": 0, "seconds": 20.0}},
        {"train": {"starts_at": 3.0, "seconds": 30.0}, WALL: {"starts_at": 0, "seconds": 40.0}},
        {"train": {"starts_at": 4.0, "seconds": 20.0}, STARTUP: {"starts_at": 0, "seconds": 1.0}},
    ]
    result = medians(runs)
    assert list(result) == [STARTUP, "train", WALL]
    assert result["train"] == {"starts_at": 3.0, "seconds": 20.0, "runs": 3}
    assert result[WALL] == {"starts_at": 0.0, "seconds": 30.0, "runs": 2}
    assert result[STARTUP]["runs"] == 1


def test_the_run_is_the_readme_command_with_its_own_artifacts_dir():
    argv = pytest_argv(Path("/tmp/a"), ["--local-storage", "pvc"])
    assert argv[:4] == [sys.executable, "-m", "pytest", "e2e"]
    assert argv[argv.index("--platform") + 1] == "local"
    assert argv[argv.index("--artifacts-dir") + 1] == "/tmp/a"
    assert argv[-2:] == ["--local-storage", "pvc"]
    assert "no:cacheprovider" in argv


@pytest.mark.parametrize("name", ["phases", "training", "serving", "ui"])
def test_every_benchmark_has_a_command_line(name, capsys):
    from benchmarks.__main__ import build_parser

    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([name, "--help"])
    assert exited.value.code == 0
    assert "usage: python -m benchmarks" in capsys.readouterr().out


def test_an_unknown_benchmark_is_refused(capsys):
    from benchmarks.__main__ import build_parser

    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["latency"])
    assert exited.value.code == 2
    assert "invalid choice: 'latency'" in capsys.readouterr().err


def test_the_gap_pairs_each_e2e_run_with_the_train_step_after_it():
    from benchmarks.phase_times import gaps

    runs = [{"rows": {WALL: {"seconds": s}}} for s in (30.0, 28.0, 40.0)]
    alone = [{"total": 22.0}, {"unavailable": "log format changed"}, {"total": 35.5}]
    assert gaps(runs, alone) == [8.0, 4.5]
    assert gaps(runs, []) == []


def test_the_train_step_breakdown_is_the_median_of_the_runs_that_have_one():
    from benchmarks.phase_times import median_breakdown

    alone = [
        {"command": "c", "stages": {"a": 1.0, "b": 4.0}, "total": 5.0},
        {"unavailable": "no"},
        {"command": "c", "stages": {"a": 3.0, "b": 2.0}, "total": 7.0},
    ]
    assert median_breakdown(alone) == {
        "command": "c",
        "runs": 2,
        "stages": {"a": 2.0, "b": 3.0},
        "total": 6.0,
    }
    assert median_breakdown([{"unavailable": "no"}]) is None


def _round(e2e: float, alone: float, code: int = 0, baseline: float | None = None) -> dict:
    from benchmarks.phase_times import WALL

    def run(wall: float, exit_code: int = 0) -> dict:
        return {"rows": {WALL: {"seconds": wall}}, "exit_code": exit_code}

    result = {"e2e": run(e2e, code), "alone": {"total": alone}, "load_1min": 1.0}
    if baseline is not None:
        result["baseline"] = run(baseline)
    return result


def test_paired_ratios_leave_out_rounds_whose_e2e_run_failed():
    from benchmarks.phase_times import paired

    summary = paired([_round(30, 25), _round(5, 25, code=1), _round(33, 30)])
    assert summary is not None
    assert summary["ratio"].values == (1.2, 1.1)
    assert summary["gap_seconds"].values == (5, 3)


def test_the_summary_gives_a_verdict_only_from_five_rounds_and_compares_with_a_baseline():
    from pathlib import Path

    from benchmarks.phase_times import _summary

    rounds = [_round(27.5 + i * 0.1, 25, baseline=32 + i * 0.1) for i in range(5)]
    text, data = _summary(rounds, Path("/tmp/base"))
    assert "verdict: within the target" in text
    assert data["baseline"]["verdict"].startswith("the ratio is lower than the baseline's by 0.18")
    text, _ = _summary(rounds[:4], None)
    assert "no verdict: 4 rounds, at least 5 needed" in text
