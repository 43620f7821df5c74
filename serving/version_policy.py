"""Which version to serve, and what to load and unload when the base path changes.

Pure decisions, no I/O: the caller lists the base path and says how to tell a complete
version. The rules are TF Serving's defaults (file-system storage path source with the
"latest 1" version policy, availability preserving):

- a version is an all-digit directory name; anything else (temp dirs, notes) is ignored;
- serve the highest complete version; a version is complete once ``saved_model.pb`` is in it
  (exporters write it last, so its presence means the rest is there);
- load the new version before unloading the old one, so a request always finds one;
- a version whose directory disappeared is unloaded; if the highest disappears, the next
  highest still there is served again;
- a version that failed to load ``MAX_LOAD_ATTEMPTS`` times is skipped from then on, as TF
  Serving stops after ``max_num_load_retries`` (5).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

MAX_LOAD_ATTEMPTS: Final = 5


def version_names(names: Iterable[str]) -> dict[int, str]:
    """Version number → directory name, for the all-digit names among *names*.

    ``"0007"`` is version 7, as in TF Serving; if two names give the same number, the first
    in sorted order wins so the choice does not depend on listing order.
    """
    found: dict[int, str] = {}
    for name in sorted(names):
        if name.isascii() and name.isdigit():
            found.setdefault(int(name), name)
    return found


def newest_servable(
    available: Iterable[int],
    loaded: Collection[int],
    is_complete: Callable[[int], bool],
    given_up: Collection[int] = (),
) -> int | None:
    """The highest version worth serving, or None.

    A loaded version counts as complete without asking (it loaded); *is_complete* is asked
    only about higher versions, newest first, so a poll usually costs no check at all.
    """
    for version in sorted(set(available), reverse=True):
        if version in loaded:
            return version
        if version not in given_up and is_complete(version):
            return version
    return None


@dataclass(frozen=True)
class Plan:
    """One poll's decision: load *load* (if any), then unload *unload*."""

    load: int | None = None
    unload: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return self.load is not None or bool(self.unload)


def plan(
    available: Iterable[int],
    loaded: Collection[int],
    is_complete: Callable[[int], bool],
    given_up: Collection[int] = (),
) -> Plan:
    """What to do so the newest servable version, and only it, is loaded.

    *unload* is meant to run after *load* succeeded (availability preserving); if the load
    fails the caller keeps what it has.
    """
    available = set(available)
    target = newest_servable(available, loaded, is_complete, given_up)
    if target is None:
        # Nothing complete to move to: keep what is still on storage, drop what vanished.
        return Plan(unload=tuple(sorted(v for v in loaded if v not in available)))
    return Plan(
        load=None if target in loaded else target,
        unload=tuple(sorted(v for v in loaded if v != target)),
    )


def should_give_up(attempts: Mapping[int, int], version: int) -> bool:
    """Whether *version* has failed to load often enough to stop trying."""
    return attempts.get(version, 0) >= MAX_LOAD_ATTEMPTS
