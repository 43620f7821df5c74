"""Paired rounds: median and interquartile range, and a verdict only beyond the noise."""

import pytest

from benchmarks.paired import Spread, against_baseline, against_target


def test_spread_is_the_median_and_the_middle_half_of_the_rounds():
    spread = Spread.of([1.30, 1.10, 1.12, 1.14, 1.11])
    assert spread.median == pytest.approx(1.12)
    assert (spread.low, spread.high) == (pytest.approx(1.11), pytest.approx(1.14))
    assert spread.width == pytest.approx(0.03)
    assert spread.describe("x") == "1.12x (IQR 1.11-1.14x; rounds 1.30, 1.10, 1.12, 1.14, 1.11)"


def test_a_target_verdict_needs_the_median_further_from_it_than_the_spread():
    assert against_target(Spread.of([1.10, 1.11, 1.12, 1.12, 1.13]), 1.15).startswith(
        "within the target"
    )
    assert against_target(Spread.of([1.30, 1.31, 1.32, 1.33, 1.34]), 1.15).startswith(
        "over the target"
    )
    noisy = against_target(Spread.of([1.00, 1.05, 1.12, 1.30, 1.40]), 1.15)
    assert noisy.startswith("no verdict: the rounds' spread (IQR 0.25)")


def test_a_baseline_verdict_needs_a_change_larger_than_its_spread():
    assert against_baseline(Spread.of([-0.2, -0.15, -0.1, -0.12, -0.18]), "the ratio") == (
        "the ratio is lower than the baseline's by 0.15 (median of rounds)"
    )
    assert against_baseline(Spread.of([-0.3, 0.2, -0.05, 0.1, -0.2]), "the ratio").startswith(
        "no verdict"
    )


def test_no_rounds_is_an_error():
    with pytest.raises(ValueError, match="no rounds"):
        Spread.of([])
