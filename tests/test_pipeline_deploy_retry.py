"""Which API errors are retried, how the final error reads, and that fatal ones stop at once."""

import json

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from pipeline.deploy.retry import DeployError, call, describe_error, transient_reason


def api_error(status, message="boom"):
    error = ApiException(status=status, reason="Reason")
    error.body = json.dumps({"kind": "Status", "message": message})
    return error


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_server_trouble_is_transient(status):
    assert transient_reason(api_error(status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_fatal(status):
    assert transient_reason(api_error(status)) is None


def test_connection_errors_are_transient():
    assert transient_reason(urllib3.exceptions.ProtocolError("reset"))
    assert transient_reason(urllib3.exceptions.MaxRetryError(None, "/x"))
    assert transient_reason(ValueError("no")) is None


def test_forbidden_says_which_rbac_to_apply():
    text = describe_error(api_error(403, 'deployments.apps is forbidden: User "x" cannot patch'))
    assert "HTTP 403" in text
    assert "cannot patch" in text
    assert "Role and RoleBinding" in text


def test_transient_errors_are_retried_then_succeed():
    clock, logs = FakeClock(), []
    answers = [api_error(503), api_error(429), "done"]

    def action():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert call("read thing", action, 60, log=logs.append, clock=clock, sleep=clock.sleep) == "done"
    assert len(logs) == 2
    assert all("'read thing' attempt" in line for line in logs)


def test_fatal_error_stops_at_once_naming_the_action():
    calls = []

    def action():
        calls.append(1)
        raise api_error(404, 'deployments.apps "tf-serving" not found')

    with pytest.raises(DeployError, match="'read Deployment ns/tf-serving' failed: HTTP 404"):
        call("read Deployment ns/tf-serving", action, 60, log=print, sleep=lambda _s: None)
    assert len(calls) == 1


def test_retries_stop_at_the_deadline():
    clock = FakeClock()

    def action():
        raise api_error(503)

    with pytest.raises(DeployError, match=r"'apply x' unsuccessful after \d+ attempts"):
        call("apply x", action, 10, log=lambda _m: None, clock=clock, sleep=clock.sleep)
    assert clock.now <= 10
