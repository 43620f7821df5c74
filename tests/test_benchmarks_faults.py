"""The faults benchmark's reading of what the fault tests measured (benchmarks/faults.py)."""

from __future__ import annotations

import pytest

from benchmarks.__main__ import main
from benchmarks.faults import summarize, table

LINES = [
    {
        "fault": "none",
        "attempt": 0,
        "run_seconds": 100.0,
        "replaced_seconds": None,
        "api_away_seconds": [],
    },
    {
        "fault": "none",
        "attempt": 1,
        "run_seconds": 110.0,
        "replaced_seconds": None,
        "api_away_seconds": [],
    },
    {
        "fault": "none",
        "attempt": 2,
        "run_seconds": 90.0,
        "replaced_seconds": None,
        "api_away_seconds": [],
    },
    {
        "fault": "api-server",
        "attempt": 0,
        "run_seconds": 130.0,
        "replaced_seconds": 20.0,
        "api_away_seconds": [12.0, 3.0],
    },
    {"fault": "sigterm", "signal_to_clean_seconds": 31.5},
]


def test_each_fault_costs_its_median_over_the_baselines() -> None:
    found = summarize(LINES)
    assert found["faults"]["none"]["median_seconds"] == 100.0
    api = found["faults"]["api-server"]
    assert api["cost_seconds"] == 30.0
    assert api["pod_back_median_seconds"] == 20.0 and api["api_away_median_seconds"] == 15.0
    assert found["sigterm_to_clean_seconds"] == [31.5]
    shown = table(found)
    assert "KFP API server pod deleted" in shown and "signal to clean" in shown


def test_without_a_baseline_there_is_no_cost() -> None:
    found = summarize([LINES[3]])
    assert found["faults"]["api-server"]["cost_seconds"] is None


def test_a_repeat_that_is_not_a_number_of_runs_fails_before_anything_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["faults", "--repeat", "0"])
    assert "'0' is not a number of runs: give 1 or more" in capsys.readouterr().err
