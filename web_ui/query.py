"""What a page's query string may say, checked: plain functions, no Flask, never a crash."""

from __future__ import annotations

import re
from typing import Final

# ASCII digits only, and only as many as a test-set index can have: ``str.isdigit`` also
# accepts "²" or "٣", which ``int`` then rejects or reads, and ``int`` refuses strings past
# 4,300 digits. Twelve digits are far more than any MNIST split holds.
_INDEX: Final = re.compile(r"[0-9]{1,12}")


class BadQuery(ValueError):
    """A query parameter is malformed or out of range; the message says what is allowed."""


def parse_index(raw: str | None, count: int) -> int | None:
    """The test-digit index ``?index=`` names (0 ≤ index < *count*), or None when absent.

    An empty ``?index=`` is a bad index like any other, not "absent": a link or form that
    meant to name a digit and lost it should say so, not show some random digit. Leave the
    parameter out for a random one.
    """
    if raw is None:
        return None
    if _INDEX.fullmatch(raw) is None or int(raw) >= count:
        shown = raw if len(raw) <= 40 else f"{raw[:40]}…"
        raise BadQuery(
            f"index {shown!r} is not a test digit: use 0 to {count - 1}"
            " (or no index for a random one)"
        )
    return int(raw)
