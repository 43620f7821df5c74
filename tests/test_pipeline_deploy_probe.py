"""The readiness calls, for real: gRPC Predict against a PredictionService on a socket, and
HTTP GET against a server on a socket."""

import logging
import threading
import time

import grpc
import pytest

from kubekit.exceptions import WaitFailed, WaitTimeout
from model.contract import IMAGE_PIXELS, INPUT_KEY, MODEL_NAME, SIGNATURE_NAME
from pipeline.deploy import probe
from pipeline.deploy.errors import DeployError, ModelLoadFailed
from tests.support.loopback_http import serve
from tests.support.scripted_predictions import scripted_prediction_server
from tf_serving_api.protos import get_model_status_pb2

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


# -- a model server that cannot load the export: the real stand-in on a socket --------------


def model_status(*versions):
    """A GetModelStatusResponse listing *versions*: (version, state name, error code, text)."""
    response = get_model_status_pb2.GetModelStatusResponse()
    for version, state, code, message in versions:
        response.model_version_status.add(
            version=version,
            state=get_model_status_pb2.ModelVersionStatus.State.Value(state),
            status={"error_code": code, "error_message": message},
        )
    return response


@pytest.mark.parametrize(
    ("versions", "expected"),
    [
        ([(1, "LOADING", 0, "")], None),  # still loading or retrying: TF Serving says OK
        ([(1, "END", 0, "")], None),  # an ordinary unload
        ([(1, "END", 15, "Can't parse x as binary proto")], "version 1: DATA_LOSS: Can't parse"),
        ([(1, "END", 5, "old"), (2, "END", 2, "new")], "version 2: UNKNOWN: new"),
    ],
)
def test_only_a_load_given_up_with_an_error_is_a_failure(versions, expected):
    reason = probe.failed_load(model_status(*versions))
    assert reason == expected or (expected and reason.startswith(expected))


@pytest.fixture
def stand_in(tmp_path):
    """Start the real ``python -m serving`` (tests/support/model_server.py) on a base path;
    teardown stops it (SIGTERM, then kill)."""
    from tests.support.model_server import start_server

    started = []

    def start(base):
        server = start_server(str(base), tmp_path / "server.log", rest=False)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop_or_kill()


@pytest.mark.slow
def test_an_export_that_is_not_a_saved_model_fails_at_once_with_the_servers_reason(
    tmp_path, stand_in
):
    import psutil

    version = tmp_path / "export" / "1"
    version.mkdir(parents=True)
    (version / "saved_model.pb").write_text("this is not a SavedModel\n")
    server = stand_in(tmp_path / "export")
    started = time.monotonic()
    with pytest.raises(ModelLoadFailed) as raised:
        probe.wait_for_prediction(server.target, timeout=300)
    # The server's import of TensorFlow and its five attempts, not the 300 s deadline.
    assert time.monotonic() - started < 60
    assert f"version 1: DATA_LOSS: Can't parse {version / 'saved_model.pb'} as binary proto" in str(
        raised.value
    )

    # The server stays up, stops trying (bounded work and memory) and keeps reporting why.
    process = psutil.Process(server.process.pid)
    rss_after_failure = process.memory_info().rss
    attempts = server.log.count("loading model mnist version 1")
    time.sleep(2)  # ten polls at 0.2 s
    assert server.process.poll() is None
    assert server.log.count("loading model mnist version 1") == attempts == 5
    assert server.log.count("giving up on model mnist version 1") == 1
    assert process.memory_info().rss - rss_after_failure < 50 * 2**20
    assert probe.load_failure(server.target, timeout=5, version=1).startswith(
        "version 1: DATA_LOSS: Can't parse"
    )


@pytest.mark.slow
def test_a_load_that_takes_a_while_is_still_waited_for(tmp_path, stand_in):
    from tests.support.model_server import export

    base = tmp_path / "export"
    server = stand_in(base)  # nothing to load yet: GetModelStatus says NOT_FOUND, no error
    exporting = threading.Timer(3.0, export, args=(base, 1))
    exporting.start()
    try:
        assert probe.wait_for_prediction(server.target, timeout=120) == 1
    finally:
        exporting.join()
    assert "loaded model mnist version 1" in server.log


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
