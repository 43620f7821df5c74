"""web_ui.query: ``?index=`` is a plain ASCII number below the test set's size, or an error
that says what is allowed; no input makes it raise anything else."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from web_ui.query import BadQuery, parse_index

COUNT = 1000


def test_no_index_means_a_random_digit() -> None:
    assert parse_index(None, COUNT) is None


def test_an_empty_index_is_a_bad_index_not_a_random_digit() -> None:
    with pytest.raises(BadQuery, match=r"index .. is not a test digit: use 0 to 999 \(or no index"):
        parse_index("", COUNT)


@pytest.mark.parametrize(("raw", "index"), [("0", 0), ("7", 7), ("999", 999), ("007", 7)])
def test_an_ascii_number_in_range_is_that_digit(raw, index) -> None:
    assert parse_index(raw, COUNT) == index


@pytest.mark.parametrize(
    "raw",
    [
        "²",  # str.isdigit() says yes, int() says no
        "٣",  # an Arabic-Indic three: int() would read it as 3
        "1" * 5000,  # past int()'s 4,300-digit limit
        "1000", "-1", "+1", " 1", "1 ", "1e3", "0x1", "1_0", "\uff11",  # fullwidth 1
    ],
)  # fmt: skip
def test_anything_else_is_a_bad_query_naming_the_range(raw) -> None:
    with pytest.raises(BadQuery, match=r"is not a test digit: use 0 to 999"):
        parse_index(raw, COUNT)


def test_a_huge_index_is_shown_shortened() -> None:
    with pytest.raises(BadQuery) as raised:
        parse_index("9" * 5000, COUNT)
    assert len(str(raised.value)) < 120


@given(st.text())
@example("²")
@example("9" * 4301)
def test_any_text_is_an_index_in_range_or_a_bad_query(raw: str) -> None:
    try:
        index = parse_index(raw, COUNT)
    except BadQuery:
        return
    assert index is not None and 0 <= index < COUNT and raw.isascii()


@given(st.integers(min_value=0, max_value=COUNT - 1))
def test_every_index_in_range_round_trips(index: int) -> None:
    assert parse_index(str(index), COUNT) == index
