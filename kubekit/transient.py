"""The one table of errors worth another try, each with the reason it is; all else is fatal.

Checked in order; the first match names the reason. Anything not listed fails at once: 401
bad credentials, 403 missing RBAC, 404, 422 an invalid object, a bad image name, a failed step.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from kubekit.exceptions import error_text, http_status, is_connection_error, is_timeout


@dataclass(frozen=True)
class Transient:
    """One kind of error worth retrying, and why."""

    name: str
    reason: str
    matches: Callable[[BaseException], bool]


def _status_in(*codes: int) -> Callable[[BaseException], bool]:
    return lambda exc: http_status(exc) in codes


def _text_matches(pattern: str) -> Callable[[BaseException], bool]:
    compiled = re.compile(pattern, re.IGNORECASE)
    return lambda exc: bool(compiled.search(error_text(exc)))


def _deleting_conflict(exc: BaseException) -> bool:
    return http_status(exc) == 409 and bool(
        re.search(
            r"being (deleted|terminated)|is terminating|NamespaceTerminating",
            error_text(exc),
            re.IGNORECASE,
        )
    )


def _grpc_code_in(*names: str) -> Callable[[BaseException], bool]:
    def matches(exc: BaseException) -> bool:
        import grpc  # lazily: only a gRPC error needs it, and it is one

        return isinstance(exc, grpc.RpcError) and exc.code().name in names

    return matches


TRANSIENT: Final[tuple[Transient, ...]] = (
    Transient(
        "409 while deleting",
        "an object of that name is still being deleted (namespace Terminating); it will go",
        _deleting_conflict,
    ),
    Transient(
        "429", "the server is rate-limiting (429): it asks to come back later", _status_in(429)
    ),
    Transient(
        "5xx",
        "the server or a proxy in front of it failed (5xx): restarting or overloaded",
        _status_in(500, 502, 503, 504),
    ),
    Transient(
        "connection reset/refused",
        "the connection was reset or refused: a port-forward reconnecting or an API server"
        " restarting",
        is_connection_error,
    ),
    Transient("timeout", "the request timed out: a slow API server or network", is_timeout),
    Transient(
        "gRPC unavailable",
        "the gRPC server is not reachable yet (starting, or a port-forward reconnecting)",
        _grpc_code_in("UNAVAILABLE"),
    ),
    Transient(
        "gRPC deadline",
        "the gRPC server did not answer in time (busy, or still loading)",
        _grpc_code_in("DEADLINE_EXCEEDED"),
    ),
    Transient(
        "command: transient network error",
        "the command lost its connection (kubectl/kind/docker talk to servers that restart)",
        _text_matches(
            r"connection refused|connection reset by peer|TLS handshake timeout|i/o timeout"
            r"|unexpected EOF|http2: client connection lost|net/http: request canceled"
            r"|dial tcp .*: connect:"
        ),
    ),
    Transient(
        "command: CRD status not written yet",
        "kubectl wait met a just-created CRD whose status the API server has not written yet"
        " (no .status.conditions); it writes it within moments",
        _text_matches(r"\.status\.conditions accessor error"),
    ),
    Transient(
        "command: server busy",
        "the API server asked to retry (overloaded, rate-limited, etcd slow)",
        _text_matches(
            r"the server is currently unable to handle the request|etcdserver: request timed out"
            r"|Too ?Many ?Requests|toomanyrequests|Error from server \(InternalError\)"
            r"|Internal error occurred|ServiceUnavailable"
        ),
    ),
)


def transient_reason(exc: BaseException) -> str | None:
    """Why *exc* is worth retrying, or ``None`` if it is fatal."""
    from kubekit.exceptions import ActionFailed

    if isinstance(exc, ActionFailed):
        return None  # already retried (or judged fatal) by whoever raised it
    for transient in TRANSIENT:
        with contextlib.suppress(Exception):  # a matcher must never turn into the error
            if transient.matches(exc):
                return transient.reason
    return None
