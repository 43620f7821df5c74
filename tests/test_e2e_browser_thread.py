"""The e2e suite's browser thread: opened without the caller waiting, used and closed on that
one thread, its errors raised in the caller."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from e2e.browser_thread import BrowserThread


class Browserish:
    """Stands for Playwright's browser: records the thread of every step."""

    def __init__(self) -> None:
        self.threads: dict[str, int] = {}

    def note(self, step: str) -> str:
        self.threads[step] = threading.get_ident()
        return step


@contextmanager
def _opened(browser: Browserish, may_open: threading.Event | None = None) -> Iterator[Browserish]:
    if may_open is not None:
        assert may_open.wait(timeout=10)
    browser.note("open")
    try:
        yield browser
    finally:
        browser.note("close")


def test_the_browser_opens_while_the_caller_goes_on_and_lives_on_one_thread() -> None:
    browser, may_open = Browserish(), threading.Event()
    thread = BrowserThread(lambda: _opened(browser, may_open))
    # The constructor returned while the opening still waits: the caller went on meanwhile.
    assert "open" not in browser.threads
    may_open.set()
    assert thread.opened is browser
    assert thread.run(browser.note, "call") == "call"
    thread.close()
    assert set(browser.threads) == {"open", "call", "close"}
    assert len(set(browser.threads.values())) == 1
    assert browser.threads["open"] != threading.get_ident()


def test_a_call_that_fails_raises_in_the_caller_and_the_thread_goes_on() -> None:
    browser = Browserish()
    thread = BrowserThread(lambda: _opened(browser))

    def fail() -> None:
        raise TimeoutError("page did not load")

    with pytest.raises(TimeoutError, match="page did not load"):
        thread.run(fail)
    assert thread.run(browser.note, "after") == "after"
    thread.close()
    assert "close" in browser.threads


def test_an_opening_that_fails_is_raised_by_every_use_and_close_still_ends() -> None:
    def no_browser() -> Iterator[Browserish]:
        raise FileNotFoundError("chromium")

    thread = BrowserThread(contextmanager(no_browser))
    with pytest.raises(FileNotFoundError, match="chromium"):
        thread.run(print, "never")
    with pytest.raises(FileNotFoundError):
        thread.opened  # noqa: B018  # the property is the call under test
    thread.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("browser")]
