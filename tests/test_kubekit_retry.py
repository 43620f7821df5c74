"""kubekit.retry and kubekit.transient: retries happen only on transient errors, with backoff and a cap; everything else is fatal
at once — judged on the errors the real clients raise."""

from __future__ import annotations

import json
import time

import pytest
import urllib3
from google.api_core import exceptions as gexc
from kfp_server_api.exceptions import ApiException as KfpApiException
from kubernetes.client.exceptions import ApiException

from kubekit import retry
from kubekit.exceptions import (
    ActionFailed,
    CommandFailed,
    Forbidden,
    TooManyRequests,
    Unreachable,
    http_status,
)
from kubekit.transient import transient_reason


def k8s_error(status: int, message: str = "", reason: str = "") -> ApiException:
    error = ApiException(status=status, reason=reason)
    error.body = json.dumps({"kind": "Status", "code": status, "message": message})
    return error


@pytest.mark.parametrize(
    ("error", "why"),
    [
        (k8s_error(429, "too many requests"), "429"),
        (k8s_error(503, "the server is currently unable to handle the request"), "5xx"),
        (k8s_error(500, "etcdserver: request timed out"), "5xx"),
        (KfpApiException(status=502, reason="Bad Gateway"), "5xx"),
        (gexc.TooManyRequests("slow down"), "429"),
        (gexc.ServiceUnavailable("backend"), "5xx"),
        (ConnectionResetError(104, "Connection reset by peer"), "connection"),
        (urllib3.exceptions.ProtocolError("Connection aborted."), "connection"),
        (
            urllib3.exceptions.MaxRetryError(
                None, "/api", urllib3.exceptions.NewConnectionError(None, "refused")
            ),
            "connection",
        ),
        (
            k8s_error(409, 'object is being deleted: namespace "x" is terminating'),
            "being deleted",
        ),
        (
            CommandFailed(
                ["kubectl", "apply"], 1, "dial tcp 127.0.0.1:6443: connect: connection refused"
            ),
            "lost its connection",
        ),
        (
            CommandFailed(
                ["docker", "push"], 1, "toomanyrequests: You have reached your pull rate limit"
            ),
            "asked to retry",
        ),
    ],
)
def test_transient_errors_are_retried(error: BaseException, why: str) -> None:
    reason = transient_reason(error)
    assert reason is not None and why in reason


@pytest.mark.parametrize(
    "error",
    [
        k8s_error(409, 'namespaces "x" already exists', "AlreadyExists"),
        k8s_error(403, 'namespaces is forbidden: User "u" cannot create'),
        k8s_error(404, "not found"),
        k8s_error(422, "Deployment.apps is invalid"),
        k8s_error(401, "Unauthorized"),
        gexc.Conflict("bucket name taken"),
        gexc.Forbidden("no storage.buckets.create"),
        CommandFailed(["docker", "build"], 1, "failed to solve: COPY failed: file not found"),
        ValueError("bad value"),
    ],
)
def test_other_errors_are_fatal(error: BaseException) -> None:
    assert transient_reason(error) is None


def test_call_retries_with_backoff_then_succeeds() -> None:
    sleeps: list[float] = []
    attempts = iter([k8s_error(503, "busy"), ConnectionResetError("reset"), "done"])

    def action() -> str:
        outcome = next(attempts)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    assert retry.call("create namespace x", action, sleep=sleeps.append) == "done"
    assert len(sleeps) == 2 and sleeps[1] >= sleeps[0] > 0


def test_call_gives_up_at_the_cap_naming_the_action() -> None:
    sleeps: list[float] = []

    def action() -> None:
        raise k8s_error(429, "slow down")

    with pytest.raises(TooManyRequests) as caught:
        retry.call("apply Role ns/r", action, attempts=4, max_wait=2.0, sleep=sleeps.append)
    assert caught.value.attempts == 4 and caught.value.status == 429
    assert caught.value.description == "apply Role ns/r"
    assert len(sleeps) == 3 and max(sleeps) <= 2.0
    assert "'apply Role ns/r' unsuccessful after 4 attempts" in str(caught.value)
    assert "HTTP 429: slow down" in str(caught.value)


def test_call_fails_at_once_on_a_fatal_error() -> None:
    calls = []

    def action() -> None:
        calls.append(1)
        raise k8s_error(403, "forbidden: cannot create namespaces")

    with pytest.raises(Forbidden) as caught:
        retry.call("create namespace x", action, sleep=lambda s: None)
    assert calls == [1]
    assert "not retryable" in str(caught.value)
    assert "HTTP 403: forbidden: cannot create namespaces" in str(caught.value)
    assert http_status(caught.value.__cause__) == 403


def test_the_deadline_stops_retries_and_the_error_says_it_was_unreachable() -> None:
    calls = []

    def action() -> None:
        calls.append(1)
        raise ConnectionResetError(104, "Connection reset by peer")

    with pytest.raises(Unreachable, match="'read Pod ns/p' unsuccessful after 1 attempts"):
        retry.call("read Pod ns/p", action, deadline=time.monotonic(), sleep=lambda s: None)
    assert calls == [1]  # transient, but no time was left for another try


def test_an_action_failed_inside_is_not_retried_again_nor_rewrapped() -> None:
    inner = ActionFailed("'kubectl apply' failed (not retryable): boom", description="kubectl")
    calls = []

    def action() -> None:
        calls.append(1)
        raise inner

    with pytest.raises(ActionFailed) as caught:
        retry.call("outer", action, sleep=lambda s: None)
    assert caught.value is inner and calls == [1]
