"""The run history's rules: budgets, accuracy drop, prediction drift and flaky tests."""

from __future__ import annotations

import pytest

from fixtures.history import rules
from tests.support.history_runs import PHASES, run


def compare(current, green=(), same_sha=(), budgets=None, margin=0.01):
    return rules.compare(
        current,
        list(green),
        list(same_sha),
        explicit_budgets=budgets or {},
        factor=1.5,
        margin=margin,
    )


# -- budgets -------------------------------------------------------------------------------


def test_a_phase_over_one_and_a_half_times_its_recent_median_is_over_budget():
    green = [run(n, phases={**PHASES, "train": t}) for n, t in enumerate((20.0, 30.0, 22.0))]
    slow = compare(run(9, phases={**PHASES, "train": 33.1}), green)
    train = next(p for p in slow.phases if p.name == "train")
    assert (train.median, train.budget.seconds) == (22.0, 33.0)
    assert train.budget.source == "1.5x median of 3 green runs"
    assert [p.name for p in slow.over_budget] == ["train"]
    assert not compare(run(9, phases={**PHASES, "train": 32.9}), green).over_budget


def test_a_short_phase_gets_at_least_the_minimum_slack():
    green = [run(1, phases={"provision": 0.4})]
    (provision,) = compare(run(2, phases={"provision": 2.3}), green).phases
    assert provision.budget.seconds == pytest.approx(0.4 + rules.MIN_SLACK_SECONDS)
    assert not provision.over_budget


def test_an_explicit_budget_wins_and_needs_no_history():
    alone = compare(run(1, phases={"train": 20.0, "provision": 0.4}), budgets={"train": 1.0})
    (train,) = alone.over_budget
    assert (train.name, train.budget.seconds, train.budget.source) == (
        "train",
        1.0,
        "--phase-budget",
    )
    assert next(p for p in alone.phases if p.name == "provision").budget is None
    relaxed = compare(run(2, phases={"train": 40.0}), [run(1)], budgets={"train": 60.0})
    assert not relaxed.over_budget


def test_the_last_green_run_is_the_newest_and_only_green_runs_set_the_median():
    green = [run(3, phases={"train": 10.0}), run(2, phases={"train": 30.0}), run(1)]
    comparison = compare(run(4), green)
    train = next(p for p in comparison.phases if p.name == "train")
    assert comparison.last_green.run_id == green[0].run_id
    assert (train.last_green, train.median, comparison.green_runs) == (10.0, 20.0, 3)


def test_without_history_nothing_is_compared():
    comparison = compare(run(1))
    assert comparison.last_green is None and not comparison.over_budget
    assert comparison.accuracy_drop is None and comparison.drift == []


# -- accuracy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "now", "dropped"),
    [(0.96, 0.95, False), (0.96, 0.9499, True), (0.96, 0.99, False), (None, 0.5, False)],
)
def test_accuracy_is_listed_when_it_falls_by_more_than_the_margin(before, now, dropped):
    comparison = compare(run(2, accuracy=now), [run(1, accuracy=before)], margin=0.01)
    assert (comparison.accuracy_drop is not None) is dropped
    if dropped:
        assert comparison.accuracy_drop.drop == pytest.approx(before - now)


# -- drift ---------------------------------------------------------------------------------


def test_drift_lists_the_probe_digits_whose_class_changed_since_the_last_green_run():
    last = run(1, classes=[7, 2, 1, 0, 4])
    now = run(2, classes=[7, 3, 1, 0, 9])
    drift = compare(now, [last]).drift
    assert [(d.index, d.before, d.after) for d in drift] == [(1, 2, 3), (4, 4, 9)]


def test_drift_compares_only_digits_both_runs_predicted():
    drift = rules.drift(run(2, classes=[7, 2, 5]), run(1, classes=[7, 2]))
    assert drift == []


def test_no_drift_without_a_green_run_before():
    assert compare(run(2, classes=[1, 2, 3])).drift == []


# -- flaky ---------------------------------------------------------------------------------


def test_a_test_that_passed_and_failed_at_one_sha_is_flaky_with_its_rate():
    runs = [
        run(3, outcome="failed", tests={"e2e/a.py::one": "failed", "e2e/a.py::two": "passed"}),
        run(2, tests={"e2e/a.py::one": "passed", "e2e/a.py::two": "passed"}),
        run(1, tests={"e2e/a.py::one": "passed", "e2e/a.py::two": "skipped"}),
    ]
    comparison = compare(runs[0], [], runs[1:])
    (flaky,) = comparison.flaky
    assert (flaky.nodeid, flaky.failed, flaky.runs) == ("e2e/a.py::one", 1, 3)
    assert flaky.rate == pytest.approx(1 / 3)
    assert comparison.flaky_window == 3


def test_a_test_that_always_fails_or_only_skips_is_not_flaky():
    runs = [
        run(2, tests={"e2e/a.py::broken": "failed", "e2e/a.py::skip": "skipped"}),
        run(1, tests={"e2e/a.py::broken": "failed", "e2e/a.py::skip": "passed"}),
    ]
    assert rules.flaky(runs) == []


def test_flaky_tests_are_ordered_by_rate():
    runs = [
        run(1, tests={"a": "failed", "b": "failed"}),
        run(2, tests={"a": "passed", "b": "failed"}),
        run(3, tests={"a": "passed", "b": "passed"}),
    ]
    assert [(f.nodeid, f.failed) for f in rules.flaky(runs)] == [("b", 2), ("a", 1)]


def test_a_run_without_a_git_sha_is_never_grouped_with_others():
    now = run(2, sha=None, tests={"a": "failed"})
    comparison = compare(now, [], [run(1, sha=None, tests={"a": "passed"})])
    assert comparison.flaky == [] and comparison.flaky_window == 1
