"""kubekit's one retry and its table of transient errors: which errors are transient (and why),
judged on the errors the real clients raise; the backoff, the attempt cap, the deadline, and
the typed error that comes out naming what was attempted."""

from __future__ import annotations

import json
import logging
import time

import pytest
import urllib3
from google.api_core import exceptions as gexc
from kfp_server_api.exceptions import ApiException as KfpApiException
from kubernetes.client.exceptions import ApiException

from kubekit import retry
from kubekit.exceptions import (
    ActionFailed,
    ApiError,
    CommandFailed,
    Conflict,
    Forbidden,
    NotFound,
    ServerError,
    TooManyRequests,
    Unreachable,
    describe,
    http_status,
)
from kubekit.transient import transient_reason


def api_error(status, message="boom"):
    error = ApiException(status=status, reason="Reason")
    error.body = json.dumps({"kind": "Status", "message": message, "code": status})
    return error


def scripted(*answers):
    """An action answering *answers* in turn (raising the exceptions), and its call count."""
    queue, calls = list(answers), []

    def action():
        calls.append(1)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return action, calls


class Sleeps(list):
    """A sleep that records how long it was asked to sleep, and returns at once."""

    def __call__(self, seconds):
        self.append(seconds)


# -- the transient table ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_server_trouble_is_transient(status):
    assert transient_reason(api_error(status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 422])
def test_client_errors_are_fatal(status):
    assert transient_reason(api_error(status)) is None


def test_a_conflict_with_an_object_being_deleted_is_transient():
    deleting = api_error(409, 'object is being deleted: namespaces "run-ns" is being terminated')
    assert "still being deleted" in transient_reason(deleting)
    assert transient_reason(api_error(409, 'services "web-ui" already exists')) is None


def test_connection_errors_and_timeouts_are_transient():
    assert "reset or refused" in transient_reason(urllib3.exceptions.ProtocolError("reset"))
    refused = urllib3.exceptions.NewConnectionError(None, "Connection refused")
    assert transient_reason(urllib3.exceptions.MaxRetryError(None, "/x", reason=refused))
    assert "timed out" in transient_reason(
        urllib3.exceptions.ReadTimeoutError(None, "/x", "read timed out")
    )
    assert transient_reason(ConnectionResetError()) is not None
    assert transient_reason(ValueError("no")) is None


def test_forbidden_says_what_the_server_said_and_that_rbac_is_missing():
    text = describe(api_error(403, 'deployments.apps is forbidden: User "x" cannot patch'))
    assert text.startswith("HTTP 403: deployments.apps is forbidden")
    assert "cannot patch" in text
    assert "RBAC" in text


# -- retries, backoff, cap and deadline ------------------------------------------------------


def test_transient_errors_are_retried_then_succeed(caplog):
    action, calls = scripted(api_error(503), api_error(429), "done")
    with caplog.at_level(logging.WARNING, logger="mnist_e2e.kube"):
        assert retry.call("read thing", action, sleep=Sleeps()) == "done"
    assert len(calls) == 3
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert all("'read thing' attempt" in line for line in lines)
    assert "rate-limiting" in lines[1]


def test_backoff_is_exponential_up_to_the_cap():
    sleeps = Sleeps()
    action, _ = scripted(api_error(503))
    with pytest.raises(ServerError):
        retry.call("apply x", action, attempts=5, sleep=sleeps)
    assert sleeps == [0.5, 1.0, 2.0, 4.0]
    sleeps.clear()
    with pytest.raises(ServerError):
        retry.call("apply x", action, attempts=5, max_wait=1.5, sleep=sleeps)
    assert sleeps == [0.5, 1.0, 1.5, 1.5]


def test_attempts_are_capped_and_the_error_says_how_many():
    action, calls = scripted(api_error(503, "etcd is slow"))
    with pytest.raises(ServerError) as failure:
        retry.call("apply Deployment ns/x", action, attempts=3, sleep=Sleeps())
    assert len(calls) == 3
    assert failure.value.attempts == 3
    assert failure.value.status == 503
    assert str(failure.value).startswith("'apply Deployment ns/x' unsuccessful after 3 attempts")
    assert "etcd is slow" in str(failure.value)


def test_a_deadline_already_passed_allows_one_attempt():
    action, calls = scripted(api_error(429))
    with pytest.raises(TooManyRequests, match=r"unsuccessful after 1 attempts"):
        retry.call("apply x", action, deadline=time.monotonic() - 1, sleep=Sleeps())
    assert len(calls) == 1


def test_retries_stop_before_the_deadline():
    action, calls = scripted(api_error(503))
    started = time.monotonic()
    with pytest.raises(ServerError, match=r"unsuccessful after \d+ attempts"):
        retry.call("apply x", action, deadline=started + 1.0)
    # 0.5 s after the first attempt, then the next pause (1 s) would pass the deadline.
    assert len(calls) == 2
    assert time.monotonic() - started < 1.0


def test_connection_errors_until_the_cap_come_out_unreachable():
    action, _ = scripted(urllib3.exceptions.ProtocolError("Connection reset by peer"))
    with pytest.raises(Unreachable, match="'list pods in ns' unsuccessful after 2 attempts"):
        retry.call("list pods in ns", action, attempts=2, sleep=Sleeps())


# -- typed errors ----------------------------------------------------------------------------


def test_a_404_is_not_found_at_once_naming_the_action():
    cause = api_error(404, 'deployments.apps "tf-serving" not found')
    action, calls = scripted(cause)
    with pytest.raises(NotFound) as failure:
        retry.call("read Deployment ns/tf-serving", action, sleep=Sleeps())
    assert len(calls) == 1
    error = failure.value
    assert isinstance(error, ApiError) and isinstance(error, ActionFailed)
    assert (error.status, error.attempts) == (404, 1)
    assert error.description == "read Deployment ns/tf-serving"
    assert str(error).startswith(
        "'read Deployment ns/tf-serving' failed (not retryable): HTTP 404:"
        ' deployments.apps "tf-serving" not found'
    )
    assert error.__cause__ is cause


def test_a_conflict_while_the_namespace_is_deleted_is_retried():
    deleting = api_error(409, 'object is being deleted: namespaces "run-ns" is being terminated')
    action, calls = scripted(deleting, deleting, "created")
    assert retry.call("create Namespace run-ns", action, sleep=Sleeps()) == "created"
    assert len(calls) == 3


def test_any_other_conflict_is_fatal():
    action, calls = scripted(api_error(409, 'services "web-ui" already exists'))
    with pytest.raises(Conflict, match="already exists"):
        retry.call("create Service ns/web-ui", action, sleep=Sleeps())
    assert len(calls) == 1


def test_a_403_is_forbidden_at_once_with_the_rbac_hint():
    action, calls = scripted(api_error(403, 'services "web-ui" is forbidden: cannot patch'))
    sleeps = Sleeps()
    with pytest.raises(Forbidden) as failure:
        retry.call("apply Service ns/web-ui", action, sleep=sleeps)
    assert len(calls) == 1 and sleeps == []
    assert failure.value.status == 403
    assert "'apply Service ns/web-ui' failed (not retryable): HTTP 403" in str(failure.value)
    assert "RBAC" in str(failure.value)


def test_an_error_already_typed_passes_through_unchanged():
    inner = NotFound("'read x' failed", status=404, description="read x")
    action, calls = scripted(inner)
    with pytest.raises(NotFound) as failure:
        retry.call("outer", action, sleep=Sleeps())
    assert failure.value is inner
    assert len(calls) == 1


def test_a_non_api_error_is_fatal_and_says_its_type():
    action, _ = scripted(ValueError("bad body"))
    with pytest.raises(ActionFailed, match=r"'apply x' failed \(not retryable\): ValueError: bad"):
        retry.call("apply x", action, sleep=Sleeps())


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
        (
            CommandFailed(
                ["kubectl", "wait", "--for", "condition=established", "crd", "--all"],
                1,
                "error: .status.conditions accessor error: <nil> is of the type <nil>,"
                " expected []interface{}",
            ),
            "status the API server has not written yet",
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


def test_backoff_seconds_is_the_policy_call_sleeps_by():
    """One policy: what a caller with its own loop (the port-forward supervisor) waits is
    what :func:`retry.call` sleeps between attempts."""
    assert [retry.backoff_seconds(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert retry.backoff_seconds(100, max_wait=30.0) == 30.0
    assert retry.backoff_seconds(0) == 0.5


def test_grpc_unavailable_and_deadline_are_transient_other_codes_are_not():
    import grpc

    from kubekit.transient import transient_reason

    class Failed(grpc.RpcError):
        def __init__(self, code: grpc.StatusCode) -> None:
            self._code = code

        def code(self) -> grpc.StatusCode:
            return self._code

    assert "not reachable yet" in (transient_reason(Failed(grpc.StatusCode.UNAVAILABLE)) or "")
    assert "in time" in (transient_reason(Failed(grpc.StatusCode.DEADLINE_EXCEEDED)) or "")
    assert transient_reason(Failed(grpc.StatusCode.NOT_FOUND)) is None
    assert transient_reason(Failed(grpc.StatusCode.INVALID_ARGUMENT)) is None
