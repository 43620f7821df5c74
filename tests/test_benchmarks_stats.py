"""Percentiles, medians and latency summaries of benchmarks.stats."""

import numpy as np
import pytest

from benchmarks.stats import Latency, median, percentile


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 99, 100])
def test_percentile_matches_numpy(q):
    values = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_interpolates_between_ranks():
    assert percentile([10.0, 20.0], 50) == 15.0
    assert percentile([10.0, 20.0], 99) == pytest.approx(19.9)


def test_percentile_of_one_value_is_that_value():
    assert percentile([4.2], 99) == 4.2


@pytest.mark.parametrize("q", [-1, 100.5])
def test_percentile_rejects_q_outside_0_100(q):
    with pytest.raises(ValueError, match=r"not in 0\.\.100"):
        percentile([1.0], q)


def test_percentile_and_median_reject_no_values():
    with pytest.raises(ValueError, match="percentile of no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="median of no values"):
        median([])


def test_median_of_even_count_is_the_mean_of_the_middle_two():
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([3.0, 1.0, 2.0]) == 2.0


def test_latency_is_in_milliseconds_and_rate_is_one_over_mean():
    latency = Latency.of([0.001] * 98 + [0.010, 0.020])
    assert latency.count == 100
    assert latency.p50_ms == pytest.approx(1.0)
    assert latency.p99_ms == pytest.approx(10.1)
    assert latency.max_ms == pytest.approx(20.0)
    assert latency.mean_ms == pytest.approx(1.28)
    assert latency.calls_per_second == pytest.approx(1000 / 1.28)
    assert latency.as_dict()["p99_ms"] == latency.p99_ms


def test_latency_of_no_calls_is_an_error():
    with pytest.raises(ValueError, match="no calls"):
        Latency.of([])
