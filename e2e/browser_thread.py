"""The browser on a thread of its own, so that it launches while the run provisions and trains.

Playwright's sync API may be used only on the thread that started it. Started on the test
process's main thread, Chromium's launch (Playwright's driver, then the browser: ~1 s) came
before provisioning, since the first browser test sets its browser up before the run, and so
added to every run's wall time. Here the launch starts on this thread as soon as the fixture
is set up, the main thread goes on to provision, and every later browser call is handed to
this same thread.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class BrowserThread(Generic[T]):
    """*open_*'s context manager entered, used and exited on one thread of its own.

    The entering starts at once; :attr:`opened` and :meth:`run` wait for it, and raise its
    error if it failed. :meth:`close` exits it on the same thread, then ends the thread.
    """

    def __init__(self, open_: Callable[[], AbstractContextManager[T]]) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="browser")
        self._stack = ExitStack()
        self._opening = self._executor.submit(lambda: self._stack.enter_context(open_()))

    @property
    def opened(self) -> T:
        """What the context manager gave (the browser), once it has: use it inside :meth:`run`."""
        return self._opening.result()

    def submit(self, call: Callable[..., R], *args: Any, **kwargs: Any) -> Future[R]:
        """``call(*args, **kwargs)`` on the browser's thread, after the opening and every call
        submitted before it; without waiting for it."""
        return self._executor.submit(call, *args, **kwargs)

    def run(self, call: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """``call(*args, **kwargs)`` on the browser's thread, once the browser is open; its
        result, or the exception it raised, raised here."""
        self._opening.result()  # its error first: a call on a browser that never opened
        return self.submit(call, *args, **kwargs).result()

    def close(self) -> None:
        """Exit the context manager (close the browser, if it opened), then end the thread."""
        try:
            # Queued behind the opening, so it waits for a launch still under way; an opening
            # that failed left nothing on the stack to exit.
            self._executor.submit(self._stack.close).result()
        finally:
            self._executor.shutdown(wait=True)
