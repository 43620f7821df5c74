"""The report's inline SVG charts: round ticks that cover the data, a point per run, a bar
per phase."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from fixtures import charts

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.0, 23.1, [0.0, 10.0, 20.0, 30.0]),
        (0.0, 1.0, [0.0, 0.5, 1.0]),
        (0.95, 0.97, [0.95, 0.955, 0.96, 0.965, 0.97]),
    ],
)
def test_ticks_are_round_and_cover_the_data(low, high, expected):
    assert charts.nice_ticks(low, high) == pytest.approx(expected)


def test_a_line_chart_is_valid_svg_with_a_line_per_series_and_a_dot_per_point():
    svg = charts.line_chart(
        "phase seconds",
        ["a", "b", "c"],
        [charts.Series("train", [20.0, 21.0, 30.0]), charts.Series("provision", [0.5, None, 0.4])],
        unit="s",
        marked=[False, True, False],
    )
    root = ET.fromstring(svg)
    assert len(root.findall(f"{SVG}polyline")) == 2
    dots = root.findall(f"{SVG}circle")
    assert len(dots) == 5  # the missing provision value is not drawn
    assert [d.find(f"{SVG}title").text for d in dots][:3] == [
        "a train: 20s",
        "b train: 21s",
        "c train: 30s",
    ]
    assert sum(d.get("stroke") == "#b00020" for d in dots) == 1  # the run that was not green


def test_a_flat_line_gets_a_narrow_band_not_a_stretched_axis():
    svg = charts.line_chart("accuracy", ["a", "b"], [charts.Series("accuracy", [0.961, 0.961])],
                            zero_based=False)  # fmt: skip
    labels = [t.text for t in ET.fromstring(svg).findall(f"{SVG}text")]
    assert labels[1:3] == ["0.950", "0.955"] and "2.0" not in labels


def test_a_long_history_keeps_dots_only_for_this_run_and_runs_that_were_not_green():
    count = charts.MAX_DOTS + 20
    svg = charts.line_chart(
        "t",
        [str(i) for i in range(count)],
        [charts.Series("train", [20.0] * count)],
        marked=[i == 3 for i in range(count)],
    )
    assert len(ET.fromstring(svg).findall(f"{SVG}circle")) == 2


def test_a_timeline_draws_a_bar_per_phase_flagging_failed_and_over_budget_ones():
    svg = charts.timeline(
        [
            charts.Bar("provision", 0.0, 0.5, True),
            charts.Bar("train", 0.5, 30.0, True, flagged=True),
            charts.Bar("assertions", 30.5, None, False),
        ]
    )
    bars = ET.fromstring(svg).findall(f"{SVG}rect")
    assert [b.find(f"{SVG}title").text for b in bars] == [
        "provision: from 0.00s, 0.50s",
        "train: from 0.50s, 30.00s",
        "assertions: from 30.50s, unfinished",
    ]
    assert bars[1].get("stroke") == "#b00020" and bars[2].get("fill") == "#b00020"


def test_nothing_to_draw_draws_nothing():
    assert charts.line_chart("t", [], []) == "" and charts.timeline([]) == ""
