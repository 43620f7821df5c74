"""The readiness calls, for real: gRPC Predict against a PredictionService on a socket, and
HTTP GET against a server on a socket."""

import logging

import grpc
import pytest

from kubekit.exceptions import WaitFailed, WaitTimeout
from model.contract import IMAGE_PIXELS, INPUT_KEY, MODEL_NAME, SIGNATURE_NAME
from pipeline.deploy import probe
from pipeline.deploy.errors import DeployError
from tests.support.loopback_http import serve
from tests.support.scripted_predictions import scripted_prediction_server

WAIT_LOG = "mnist_e2e.kube"  # kubekit's wait logs each new status there


def no_sleep(_seconds):
    pass


# -- gRPC ------------------------------------------------------------------------------------


@pytest.fixture
def prediction_server():
    """A PredictionService on loopback answering from a script (tests.support)."""
    with scripted_prediction_server() as served:
        yield served


def test_predict_sends_one_zero_image_under_the_contract(prediction_server):
    target, script, received = prediction_server
    script.append("ok")
    assert probe.predict_once(target, timeout=5) == 7
    (request,) = received
    assert request.model_spec.name == MODEL_NAME
    assert request.model_spec.signature_name == SIGNATURE_NAME
    tensor = request.inputs[INPUT_KEY]
    assert [d.size for d in tensor.tensor_shape.dim] == [1, IMAGE_PIXELS]
    assert list(tensor.float_val) == [0.0] * IMAGE_PIXELS


def test_not_serving_yet_is_retried(prediction_server, caplog):
    target, script, received = prediction_server
    script.extend([grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE, "ok"])
    with caplog.at_level(logging.INFO, logger=WAIT_LOG):
        version = probe.wait_for_prediction(target, timeout=60, sleep=no_sleep)
    assert version == 7
    assert len(received) == 3
    logs = [r.getMessage() for r in caplog.records]
    assert len(logs) == 2
    assert f"'predict on {target}'" in logs[0]
    assert "NOT_FOUND: scripted NOT_FOUND (the model is not loaded yet)" in logs[0]
    assert "UNAVAILABLE" in logs[1]


def test_an_answer_from_another_version_is_waited_out_when_a_version_is_asked_for(
    prediction_server, caplog
):
    target, script, received = prediction_server
    script.extend(["ok-v6", "ok"])
    with caplog.at_level(logging.INFO, logger=WAIT_LOG):
        assert probe.wait_for_prediction(target, timeout=60, version=7, sleep=no_sleep) == 7
    assert len(received) == 2
    assert "serving version 6, waiting for 7" in caplog.records[0].getMessage()


def test_a_fatal_reason_ends_the_wait_before_any_call(prediction_server):
    target, script, received = prediction_server
    script.append(grpc.StatusCode.UNAVAILABLE)
    with pytest.raises(WaitFailed, match="model-server exited with code 1"):
        probe.wait_for_prediction(
            target, timeout=60, fatal=lambda: "model-server exited with code 1", sleep=no_sleep
        )
    assert received == []


def test_a_crashed_server_ends_the_http_wait(http_server):
    url, statuses, _ = http_server
    statuses.append(503)
    with pytest.raises(WaitFailed, match="web-ui exited"):
        probe.wait_for_http(
            f"{url}/readyz", timeout=60, fatal=lambda: "web-ui exited", sleep=no_sleep
        )


def test_invalid_argument_is_fatal_at_once(prediction_server):
    target, script, received = prediction_server
    script.append(grpc.StatusCode.INVALID_ARGUMENT)
    with pytest.raises(DeployError, match=f"'predict on {target}' failed: INVALID_ARGUMENT"):
        probe.wait_for_prediction(target, timeout=60, sleep=no_sleep)
    assert len(received) == 1


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [("no-classes", "without classes"), ("not-softmax", "sum to 5.0000")],
)
def test_answers_off_contract_are_fatal(prediction_server, behaviour, message):
    target, script, _ = prediction_server
    script.append(behaviour)
    with pytest.raises(DeployError, match=message):
        probe.predict_once(target, timeout=5)


def test_nothing_listening_gives_up_at_the_deadline():
    clock = iter(range(100)).__next__
    with pytest.raises(WaitTimeout, match=r"'predict on 127.0.0.1:1' timed out .*UNAVAILABLE"):
        probe.wait_for_prediction("127.0.0.1:1", timeout=6, clock=clock, sleep=no_sleep)


# -- HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def http_server():
    """A real HTTP server on loopback answering with a script of status codes (the last
    repeats); it counts the requests it answered."""
    script, answered = [], []

    def answer(_request):
        answered.append(1)
        return (script.pop(0) if len(script) > 1 else script[0]), b"ok"

    with serve(answer) as url:
        yield url, script, answered


def test_ready_after_503s(http_server, caplog):
    url, script, answered = http_server
    script.extend([503, 502, 200])
    with caplog.at_level(logging.INFO, logger=WAIT_LOG):
        probe.wait_for_http(f"{url}/readyz", timeout=60, sleep=no_sleep)
    assert len(answered) == 3
    logs = [r.getMessage() for r in caplog.records]
    assert len(logs) == 2
    assert f"'GET {url}/readyz': HTTP 503" in logs[0]
    assert "HTTP 502" in logs[1]


def test_a_404_is_fatal(http_server):
    url, script, answered = http_server
    script.append(404)
    # Who answered is named: a 404 from a server that is not ours is told apart.
    with pytest.raises(DeployError, match=r"answered 404 \(Server: BaseHTTP/[^)]*\); expected 200"):
        probe.wait_for_http(f"{url}/readyz", timeout=60, sleep=no_sleep)
    assert len(answered) == 1


def test_refused_connections_give_up_at_the_deadline():
    clock = iter(range(100)).__next__
    with pytest.raises(WaitTimeout, match=r"'GET http://127.0.0.1:1/readyz' timed out .*refused"):
        probe.wait_for_http("http://127.0.0.1:1/readyz", timeout=5, clock=clock, sleep=no_sleep)


def test_only_http_urls():
    with pytest.raises(ValueError, match="http"):
        probe.get_status("file:///etc/passwd", timeout=1)
