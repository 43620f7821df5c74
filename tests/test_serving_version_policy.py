"""serving.version_policy: which version to serve and what to load/unload, as TF Serving decides."""

from __future__ import annotations

import pytest

from serving.version_policy import (
    MAX_LOAD_ATTEMPTS,
    Plan,
    newest_servable,
    plan,
    should_give_up,
    version_names,
)


def complete_except(*incomplete: int):
    """An is_complete that records what it was asked."""
    asked: list[int] = []

    def is_complete(version: int) -> bool:
        asked.append(version)
        return version not in incomplete

    is_complete.asked = asked  # type: ignore[attr-defined]
    return is_complete


def test_only_all_digit_names_are_versions() -> None:
    names = ["10", "9", ".7.tmp-ab12", "v3", "README", "1a", "\u0663", "0007"]
    assert version_names(names) == {7: "0007", 9: "9", 10: "10"}


def test_two_names_for_one_number_resolve_the_same_way_in_any_order() -> None:
    assert version_names(["7", "007"]) == version_names(["007", "7"]) == {7: "007"}


def test_the_newest_complete_version_wins() -> None:
    assert newest_servable([1, 3, 2], set(), complete_except()) == 3
    assert newest_servable([1, 3, 2], set(), complete_except(3)) == 2
    assert newest_servable([], set(), complete_except()) is None
    assert newest_servable([1], set(), complete_except(1)) is None


def test_a_loaded_version_is_not_checked_again() -> None:
    is_complete = complete_except()
    assert newest_servable([1, 2], {2}, is_complete) == 2
    assert is_complete.asked == []  # type: ignore[attr-defined]


def test_given_up_versions_are_skipped() -> None:
    assert newest_servable([1, 2], {1}, complete_except(), given_up={2}) == 1


@pytest.mark.parametrize(
    ("available", "loaded", "incomplete", "given_up", "expected"),
    [
        ([], set(), (), (), Plan()),  # nothing there yet: wait
        ([5], set(), (), (), Plan(load=5)),  # first version
        ([5], {5}, (), (), Plan()),  # steady state
        ([5, 6], {5}, (), (), Plan(load=6, unload=(5,))),  # newer: load it, then drop 5
        ([5, 6], {5}, (6,), (), Plan()),  # newer still being written: keep 5
        ([5, 6], {5}, (), (6,), Plan()),  # newer failed for good: keep 5
        ([4], {5}, (), (), Plan(load=4, unload=(5,))),  # 5 deleted: back to 4
        ([], {5}, (), (), Plan(unload=(5,))),  # everything deleted: unload
        ([6], {5}, (6,), (), Plan(unload=(5,))),  # 5 deleted, 6 not complete yet
        ([5, 6], {5, 6}, (), (), Plan(unload=(5,))),  # only the newest stays
    ],
)
def test_plan(available, loaded, incomplete, given_up, expected) -> None:
    assert plan(available, loaded, complete_except(*incomplete), given_up) == expected


def test_an_empty_plan_is_falsy() -> None:
    assert not Plan()
    assert Plan(load=1)
    assert Plan(unload=(1,))


def test_giving_up_after_tf_servings_retry_count() -> None:
    assert not should_give_up({}, 3)
    assert not should_give_up({3: MAX_LOAD_ATTEMPTS - 1}, 3)
    assert should_give_up({3: MAX_LOAD_ATTEMPTS}, 3)
    assert MAX_LOAD_ATTEMPTS == 5
