"""Typed errors: each names what was attempted and chains the error underneath (``from``).

An API failure becomes the class of its status, so callers write ``except NotFound`` instead
of digging a status code out of ``__cause__``::

    ActionFailed                 an action failed for good (fatal, or transient until the cap)
      ApiError                   the API server answered an error status (.status)
        Unauthorized 401, Forbidden 403, NotFound 404, Conflict 409, Gone 410,
        Invalid 422, TooManyRequests 429, ServerError 5xx
      Unreachable                no answer: connection refused or reset, a timeout
      WaitFailed                 waiting cannot succeed any more (a fatal condition)
        WaitTimeout              the deadline passed; the message says what was seen last
    CommandFailed                an external command (kind, kubectl, docker) exited non-zero
    NotReady                     raised by a wait's condition: not yet (its text is the status)
"""

from __future__ import annotations

import contextlib
import json
from typing import ClassVar


class ActionFailed(RuntimeError):
    """An action failed for good; ``description`` says what was attempted."""

    def __init__(self, message: str, *, description: str = "", attempts: int = 1) -> None:
        super().__init__(message)
        self.description = description
        self.attempts = attempts


class ApiError(ActionFailed):
    """The API server (or a proxy in front of it) answered with an error status."""

    hint: ClassVar[str] = ""
    status: int

    def __init__(
        self, message: str, *, status: int, description: str = "", attempts: int = 1
    ) -> None:
        super().__init__(message, description=description, attempts=attempts)
        self.status = status


class Unauthorized(ApiError):
    hint = "the credentials were rejected"


class Forbidden(ApiError):
    hint = "the caller's RBAC does not allow this"


class NotFound(ApiError):
    hint = "it does not exist (is the namespace right, and was it created?)"


class Conflict(ApiError):
    hint = "it conflicts with an existing object"


class Gone(ApiError):
    hint = "the resourceVersion is too old: list again"


class Invalid(ApiError):
    hint = "the API server rejected the object as invalid"


class TooManyRequests(ApiError):
    hint = "the API server is rate-limiting (priority and fairness)"


class ServerError(ApiError):
    hint = "the API server or a proxy in front of it failed"


class Unreachable(ActionFailed):
    """No answer at all: the connection was refused or reset, or the request timed out."""


class WaitFailed(ActionFailed):
    """Waiting cannot succeed any more: a fatal condition was seen, or the deadline passed."""


class WaitTimeout(WaitFailed):
    """The deadline passed before the wait was done; the message says what was seen last."""


class NotReady(Exception):
    """A wait's condition is not met yet; the message says what is seen now."""


class CommandFailed(RuntimeError):
    """An external command exited non-zero; its stderr says why."""

    def __init__(self, argv: list[str], returncode: int, stderr: str) -> None:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        super().__init__(f"`{' '.join(argv)}` exited with {returncode}: {tail or '(no stderr)'}")
        self.argv, self.returncode, self.stderr = argv, returncode, stderr


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
}


def api_error_class(status: int) -> type[ApiError]:
    """The class of an error status: 404 → NotFound, 503 → ServerError, 418 → ApiError."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an error carries, whichever client raised it."""
    # ApiError: .status; kubernetes and kfp_server_api ApiException: .status;
    # google.api_core: .code; requests.HTTPError: .response.status_code.
    for value in (getattr(exc, "status", None), getattr(exc, "code", None)):
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def is_not_found(exc: BaseException) -> bool:
    """True if *exc* is a 404: the typed NotFound, or any client's own (Kubernetes, KFP)."""
    return isinstance(exc, NotFound) or http_status(exc) == 404


def error_text(exc: BaseException) -> str:
    """Everything an error says: its message, an API body, a command's stderr."""
    parts = [str(exc)]
    for attribute in ("body", "stderr"):
        value = getattr(exc, attribute, None)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if value and str(value) not in parts[0]:
            parts.append(str(value))
    return "\n".join(parts)


def describe(exc: BaseException) -> str:
    """An error in one line: ``HTTP 403: <the server's own message> (hint)`` or ``Type: text``."""
    if isinstance(exc, ActionFailed):
        return str(exc)
    status = http_status(exc)
    if status is None:
        return f"{type(exc).__name__}: {exc}"
    message = getattr(exc, "reason", None) or str(exc)
    # The body is the API server's Status object as JSON, except from proxies in between.
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        message = json.loads(getattr(exc, "body", None) or "{}").get("message") or message
    hint = api_error_class(status).hint
    return f"HTTP {status}: {message}" + (f" ({hint})" if hint else "")


def is_connection_error(exc: BaseException) -> bool:
    """Refused, reset, aborted: also when urllib3's MaxRetryError wraps it."""
    import requests.exceptions
    import urllib3.exceptions

    kinds = (
        ConnectionError
        | urllib3.exceptions.ProtocolError
        | urllib3.exceptions.NewConnectionError
        | requests.exceptions.ConnectionError
    )
    return isinstance(exc, kinds) or isinstance(getattr(exc, "reason", None), kinds)


def is_timeout(exc: BaseException) -> bool:
    """A request that got no answer in time."""
    import requests.exceptions
    import urllib3.exceptions

    kinds = TimeoutError | urllib3.exceptions.TimeoutError | requests.exceptions.Timeout
    return isinstance(exc, kinds) or isinstance(getattr(exc, "reason", None), kinds)


def is_unreachable(exc: BaseException) -> bool:
    """No answer at all (connection failed or timed out)."""
    return is_connection_error(exc) or is_timeout(exc)


def typed(exc: BaseException, message: str, *, description: str, attempts: int) -> ActionFailed:
    """*exc* as the project's typed error carrying *message* (raise it ``from exc``)."""
    status = http_status(exc)
    if isinstance(exc, ApiError) or status is not None:
        cls = api_error_class(status or int(getattr(exc, "status", 0) or 0))
        return cls(message, status=status or 0, description=description, attempts=attempts)
    if is_unreachable(exc):
        return Unreachable(message, description=description, attempts=attempts)
    if isinstance(exc, WaitFailed):
        return type(exc)(message, description=description, attempts=attempts)
    return ActionFailed(message, description=description, attempts=attempts)
