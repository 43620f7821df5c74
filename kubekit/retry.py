"""Retry an action only when its error is transient, with backoff, an attempt cap and a
deadline, Terratest-style: every retry's log line and the final error carry the action's
description, ``'delete Namespace mnist-e2e-…' unsuccessful after 5 attempts (…): …``.

What counts as transient is :mod:`kubekit.transient`'s table; anything else fails at once.
The error raised is typed (:mod:`kubekit.exceptions`): a 404 comes out as ``NotFound``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final, TypeVar

from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    stop_never,
)

from kubekit.exceptions import ActionFailed, describe, typed
from kubekit.transient import transient_reason

log = logging.getLogger("mnist_e2e.kube")
T = TypeVar("T")

DEFAULT_ATTEMPTS: Final = 6
MAX_WAIT_SECONDS: Final = 20.0
FIRST_WAIT_SECONDS: Final = 0.5  # doubled after each failure in a row, up to the cap


def backoff_seconds(failures: int, max_wait: float = MAX_WAIT_SECONDS) -> float:
    """The pause after the *failures*-th failure in a row: 0.5 s, 1, 2, 4, … up to *max_wait*.

    The one backoff policy: :func:`call` uses it between attempts, and so does anything else
    that tries again on its own schedule (the port-forward supervisor's reconnects)."""
    doublings = min(max(failures, 1) - 1, 32)  # 2**32 halves is past any cap already
    return min(max_wait, FIRST_WAIT_SECONDS * 2**doublings)


def call(
    description: str,
    action: Callable[[], T],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    deadline: float | None = None,
    max_wait: float = MAX_WAIT_SECONDS,
    logger: logging.Logger = log,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run *action*; retry transient errors with exponential backoff, at most *attempts* times
    and never past *deadline* (a *clock* value). Any other error fails at once.

    Raises the typed :class:`ActionFailed` subclass of the last error, naming *description*
    and the attempts made, chained to that error.
    """

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.warning(
            "'%s' attempt %d of %d failed (%s: %s); retrying in %.1fs",
            description,
            state.attempt_number,
            attempts,
            transient_reason(error) if error else "?",
            describe(error) if error else "?",
            state.next_action.sleep if state.next_action else 0.0,
        )

    # tenacity measures from the first attempt; the deadline is absolute, so convert it.
    remaining = None if deadline is None else max(0.0, deadline - clock())
    retrying = Retrying(
        stop=stop_after_attempt(attempts)
        | (stop_before_delay(remaining) if remaining is not None else stop_never),
        wait=lambda state: backoff_seconds(state.attempt_number, max_wait),
        retry=retry_if_exception(lambda exc: transient_reason(exc) is not None),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=False,
    )
    try:
        return retrying(action)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        tried = exc.last_attempt.attempt_number
        assert last is not None  # tenacity retries only on exceptions here
        message = (
            f"'{description}' unsuccessful after {tried} attempts"
            f" ({transient_reason(last)}): {describe(last)}"
        )
        raise typed(last, message, description=description, attempts=tried) from last
    except ActionFailed:
        raise  # already says what failed
    except Exception as exc:
        message = f"'{description}' failed (not retryable): {describe(exc)}"
        raise typed(exc, message, description=description, attempts=1) from exc
