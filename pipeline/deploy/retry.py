"""Retry a Kubernetes API call only when its error is transient, naming what was attempted.

Transient errors are an explicit list, each with its reason; everything else (403 for
missing RBAC, 404, 422 for an invalid object) is fatal at once. Every attempt's log line and
the final error carry the action's description: "'apply Deployment ns/tf-serving'
unsuccessful after 4 attempts: …".
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Final, TypeVar

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

T = TypeVar("T")

# HTTP statuses worth another try, and why.
TRANSIENT_STATUS: Final = {
    429: "the API server is rate-limiting (priority and fairness)",
    500: "the API server had an internal error",
    502: "a proxy in front of the API server failed",
    503: "the API server is unavailable (restarting or overloaded)",
    504: "the API server timed out",
}
# Hints for fatal statuses, so the message says what to fix.
FATAL_HINTS: Final = {
    401: "the step's credentials were rejected",
    403: "the pipeline's service account lacks RBAC for this: apply the Role and RoleBinding"
    " of manifests/ (render.rbac_objects) in the target namespace",
    404: "it does not exist (is the namespace right, and was it created?)",
    409: "it conflicts with the current object",
    422: "the API server rejected the object as invalid",
}
MAX_DELAY: Final = 10.0


class DeployError(RuntimeError):
    """A deploy step cannot finish; the message says what failed, why, and what to check."""


def transient_reason(exc: BaseException) -> str | None:
    """Why *exc* is worth retrying, or None if it is fatal."""
    if isinstance(exc, ApiException):
        return TRANSIENT_STATUS.get(exc.status or 0)
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return "the connection was reset"
    if isinstance(exc, urllib3.exceptions.MaxRetryError | urllib3.exceptions.TimeoutError):
        return "the API server could not be reached in time"
    if isinstance(exc, ConnectionError | TimeoutError):
        return "the connection failed"
    return None


def describe_error(exc: BaseException) -> str:
    """The API server's own message (not its whole JSON body), with a hint for the status."""
    if not isinstance(exc, ApiException):
        return f"{type(exc).__name__}: {exc}"
    message = exc.reason or ""
    # The body is the API server's Status object as JSON, except from proxies in between.
    with contextlib.suppress(ValueError, AttributeError):
        message = json.loads(exc.body or "{}").get("message", message)
    hint = FATAL_HINTS.get(exc.status or 0) or TRANSIENT_STATUS.get(exc.status or 0)
    return f"HTTP {exc.status}: {message}" + (f" ({hint})" if hint else "")


def call(
    description: str,
    action: Callable[[], T],
    deadline: float,
    *,
    log: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run *action*, retrying transient errors with backoff until *deadline* (a clock value)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return action()
        except Exception as exc:
            reason = transient_reason(exc)
            if reason is None:
                raise DeployError(f"'{description}' failed: {describe_error(exc)}") from exc
            delay = min(MAX_DELAY, 0.5 * 2**attempt)
            if clock() + delay > deadline:
                raise DeployError(
                    f"'{description}' unsuccessful after {attempt} attempts before the"
                    f" deadline: {describe_error(exc)}"
                ) from exc
            log(f"'{description}' attempt {attempt} failed ({reason}); retrying in {delay:.1f}s")
            sleep(delay)
