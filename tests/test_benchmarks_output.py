"""Table formatting and JSON output of benchmarks.output."""

import json

import pytest

from benchmarks.output import format_number, format_table, write_json


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.7981, "0.798"),
        (13.74, "13.7"),
        (319.4, "319"),
        (294951.2, "294,951"),
        (0.0, "0"),
        (1234, "1,234"),
        (None, "—"),
        (float("nan"), "—"),
        (True, "True"),
        ("cnn", "cnn"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


def test_table_aligns_numbers_right_and_text_left():
    table = format_table(["model", "steps/s"], [["cnn", 38.3], ["linear", 2950.0]])
    assert table.splitlines() == [
        "model   steps/s",
        "------  -------",
        "cnn        38.3",
        "linear    2,950",
    ]


def test_a_column_with_any_text_is_left_aligned():
    table = format_table(["ratio"], [[1.5], ["2.00x"]])
    assert table.splitlines()[2:] == ["1.5", "2.00x"]


def test_a_row_of_the_wrong_width_is_an_error():
    with pytest.raises(ValueError, match="1 cells, the header has 2"):
        format_table(["a", "b"], [[1]])


def test_write_json_adds_machine_and_time(tmp_path):
    path = write_json("demo", {"value": 1.5}, tmp_path / "out")
    assert path == tmp_path / "out" / "demo.json"
    document = json.loads(path.read_text())
    assert document["benchmark"] == "demo"
    assert document["value"] == 1.5
    assert document["machine"]["cpus_logical"] >= 1
    assert document["measured_at"] > 0
