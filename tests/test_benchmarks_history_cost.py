"""The run-history benchmark runs end to end on a small synthetic history."""

import argparse

from benchmarks import history_cost


def test_the_benchmark_measures_a_small_history():
    table, results = history_cost.run(argparse.Namespace(history=5, rounds=3))
    assert results["file_runs"] == 5 + 3 + 2
    assert results["record_and_compare_ms"]["median"] > 0
    sizes = results["report"]["window_5"]
    assert sizes["report_bytes"] > sizes["report_without_history_bytes"]
    assert "open, read, compare, record (ms)" in table
