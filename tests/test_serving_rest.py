"""serving.rest: TF Serving's REST API over a real socket — status, metadata, predict, errors."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kubekit.wait import until
from model.contract import IMAGE_PIXELS, NUM_CLASSES
from serving.manager import ModelManager
from serving.storage import LocalStore

# Loads a SavedModel with TensorFlow (seconds to import): the whole module is slow.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def manager(tmp_path_factory: pytest.TempPathFactory) -> ModelManager:
    """``mnist`` version 5 of the fixed model, loaded (no poll thread: nothing to stop)."""
    from tests.support import fixed_model

    base = tmp_path_factory.mktemp("export")
    fixed_model.export(base, 5)
    manager = ModelManager("mnist", LocalStore(str(base)), 1)
    manager.poll_once()
    return manager


@pytest.fixture(scope="module")
def rest_url(manager: ModelManager) -> Iterator[str]:
    """``http://127.0.0.1:<free port>`` serving ``mnist`` version 5 of the fixed model.

    Teardown stops the server and closes its socket.
    """
    from serving.rest import RestApi

    api = RestApi(manager, "127.0.0.1", 0)
    api.start()
    try:
        yield f"http://{api.address}"
    finally:
        api.stop()


def call(url: str, body: Any = None, method: str | None = None) -> tuple[int, Any]:
    """(HTTP status, parsed JSON) of one request; errors are answers too."""
    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def images(*digits: int) -> list[list[float]]:
    from tests.support.fixed_model import image_of_class

    return [image_of_class(d).tolist() for d in digits]


def test_model_status(rest_url: str) -> None:
    assert call(f"{rest_url}/v1/models/mnist") == (
        200,
        {
            "model_version_status": [
                {
                    "version": "5",
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ]
        },
    )
    assert call(f"{rest_url}/v1/models/fashion") == (
        404,
        {"error": "Could not find any versions of model fashion"},
    )


def test_metadata(rest_url: str) -> None:
    status, document = call(f"{rest_url}/v1/models/mnist/metadata")
    assert status == 200
    assert document["model_spec"] == {"name": "mnist", "signature_name": "", "version": "5"}
    signature = document["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["inputs"]["x"]["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in signature["inputs"]["x"]["tensor_shape"]["dim"]] == ["-1", "784"]
    assert set(signature["outputs"]) == {"classes", "predictions"}


def test_predict_row_format(rest_url: str) -> None:
    status, document = call(f"{rest_url}/v1/models/mnist:predict", {"instances": images(3, 8)})
    assert status == 200
    rows = document["predictions"]
    assert [row["classes"] for row in rows] == [3, 8]
    for row in rows:
        assert len(row["predictions"]) == NUM_CLASSES
        assert sum(row["predictions"]) == pytest.approx(1.0, rel=1e-5)


def test_predict_named_instances_and_pinned_version(rest_url: str) -> None:
    body = {"instances": [{"x": image} for image in images(4)]}
    status, document = call(f"{rest_url}/v1/models/mnist/versions/5:predict", body)
    assert status == 200
    assert document["predictions"][0]["classes"] == 4


def test_predict_columnar_format(rest_url: str) -> None:
    status, document = call(f"{rest_url}/v1/models/mnist:predict", {"inputs": images(1, 2)})
    assert status == 200
    assert document["outputs"]["classes"] == [1, 2]
    assert np.asarray(document["outputs"]["predictions"]).shape == (2, NUM_CLASSES)
    status, document = call(f"{rest_url}/v1/models/mnist:predict", {"inputs": {"x": images(6)}})
    assert (status, document["outputs"]["classes"]) == (200, [6])


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/v1/models/fashion:predict", {"instances": [[0.0] * IMAGE_PIXELS]}, 404, "Servable not found for request: Latest(fashion)"),
        ("/v1/models/mnist/versions/9:predict", {"instances": [[0.0] * IMAGE_PIXELS]}, 404, "Servable not found for request: Specific(mnist, 9)"),
        ("/v1/models/mnist/labels/stable:predict", {"instances": [[0.0] * IMAGE_PIXELS]}, 400, "Unrecognized servable version label: stable"),
        ("/v1/models/mnist:predict", {"instances": [[0.0] * 10]}, 400, "input 'x' has shape [1, 10] but signature 'serving_default' expects [-1, 784]"),
        ("/v1/models/mnist:predict", {"instances": [["a"] * IMAGE_PIXELS]}, 400, "input 'x': JSON value is not a rectangular list of numbers of type DT_FLOAT"),
        ("/v1/models/mnist:predict", {"instances": [{"image": [0.0] * IMAGE_PIXELS}]}, 400, "input size does not match signature"),
        ("/v1/models/mnist:predict", {"signature_name": "nope", "instances": [[0.0] * IMAGE_PIXELS]}, 400, 'Serving signature key "nope" not found.'),
        ("/v1/models/mnist:predict", {}, 400, "Missing 'inputs' or 'instances' key"),
        ("/v1/models/mnist:predict", {"instances": [], "inputs": []}, 400, "expecting only one of 'inputs' or 'instances'"),
        ("/v1/models/mnist:predict", b"{not json", 400, "JSON Parse error"),
        ("/v1/models/mnist:classify", {"examples": []}, 501, "classify is not served"),
        ("/v1/nonsense", None, 400, "Malformed request: GET /v1/nonsense"),
        ("/healthz", None, 404, "Malformed request: GET /healthz"),
    ],
)  # fmt: skip
def test_errors_are_json_with_tf_servings_status(
    rest_url: str, path: str, body: Any, status: int, error: str
) -> None:
    got_status, document = call(f"{rest_url}{path}", body)
    assert got_status == status, document
    assert error in document["error"]


def test_the_server_keeps_answering_after_bad_requests(rest_url: str) -> None:
    for _ in range(3):
        assert call(f"{rest_url}/v1/models/mnist:predict", {"instances": [[1.0]]})[0] == 400
    assert call(f"{rest_url}/v1/models/mnist:predict", {"instances": images(9)})[0] == 200


# -- what a hostile or careless client sends --------------------------------------------------


def raw(url: str, request: bytes, timeout: float = 10) -> tuple[bytes, bool]:
    """Send *request* bytes as they are; the answer's bytes, and whether the server closed."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return answer, False
            if not chunk:
                return answer, True
            answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            length = [
                line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
            ]
            if (
                length
                and len(body) >= int(length[0].split(b":")[1])
                and b"connection: close" not in head.lower()
            ):
                return answer, False  # a complete keep-alive answer  # fmt: skip


def status_and_error(answer: bytes) -> tuple[int, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"Content-Type: application/json" in head, head
    return int(head.split(b" ")[1]), json.loads(body)["error"]


@pytest.mark.parametrize(
    ("length", "status", "error"),
    [
        (b"abc", 400, "Content-Length 'abc' is not a number of bytes"),
        (b"-5", 400, "Content-Length '-5' is not a number of bytes"),
        (str(10**12).encode(), 413, "request body of 1000000000000 bytes is over this server's limit of 67108864 bytes (--max_request_bytes)"),
    ],
)  # fmt: skip
def test_a_malformed_content_length_gets_a_json_4xx_and_the_connection_closes(
    rest_url: str, length: bytes, status: int, error: str
) -> None:
    answer, closed = raw(
        rest_url,
        b"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n{}",
    )  # fmt: skip
    assert status_and_error(answer)[0] == status
    assert error in status_and_error(answer)[1]
    assert closed and b"Connection: close" in answer


@pytest.mark.parametrize(
    ("request_line", "status", "error"),
    [
        (b"GET /v1/models/mnist/versions/18446744073709551616", 400, "Failed to convert version: 18446744073709551616 to numeric."),
        (b"GET /v1/models/mnist/versions/-1", 400, "Malformed request: GET /v1/models/mnist/versions/-1"),
        (b"PUT /v1/models/mnist", 400, "Malformed request: PUT /v1/models/mnist"),
        (b"DELETE /v1/models/mnist", 400, "Malformed request: DELETE /v1/models/mnist"),
        (b"BREW /v1/models/mnist", 501, "Unsupported method ('BREW')"),
        (b"GET /" + b"v" * 70000, 414, HTTPStatus.REQUEST_URI_TOO_LONG.phrase),
    ],
)  # fmt: skip
def test_tf_servings_status_and_a_json_error_for_every_bad_request_line(
    rest_url: str, request_line: bytes, status: int, error: str
) -> None:
    answer, _ = raw(rest_url, request_line + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_and_error(answer) == (status, error)


def test_paths_match_case_insensitively_as_tf_servings(rest_url: str) -> None:
    status, document = call(
        f"{rest_url}/V1/Models/mnist/VERSIONS/5:predict", {"instances": images(2)}
    )
    assert (status, document["predictions"][0]["classes"]) == (200, 2)
    assert call(f"{rest_url}/V1/MODELS/mnist")[0] == 200


def test_a_chunked_body_is_read(rest_url: str) -> None:
    body = json.dumps({"instances": images(7)}).encode()
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 500]), body[i : i + 500])
        for i in range(0, len(body), 500)
    )
    answer, _ = raw(
        rest_url,
        b"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n",
    )  # fmt: skip
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert json.loads(payload)["predictions"][0]["classes"] == 7


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[" * 100_000, "JSON Parse error: lists or objects nested too deeply"),
        (json.dumps({"instances": [[True] * IMAGE_PIXELS]}).encode(), "true (a JSON boolean) at [0][0]; send numbers"),
        (json.dumps({"instances": [[1e39] + [0.0] * 783]}).encode(), "JSON value 1e+39 at [0][0] cannot be converted to DT_FLOAT without loss of precision"),
        (b'{"instances": [[1e400]]}', "JSON Parse error: the number 1e400 is too big to be stored in a double"),
        (b'{"instances": [[' + b"1" * 5000 + b"]]}", "JSON Parse error: the number 11111111111111111111… (5000 digits) is too big"),
        (json.dumps({"instances": []}).encode(), "No values in 'instances' array; send at least one instance"),
        (b"", "JSON Parse error: The document is empty"),
        (b"\xff\xfe", "JSON Parse error"),
    ],
)  # fmt: skip
def test_bad_bodies_are_400_never_500(rest_url: str, body: bytes, error: str) -> None:
    status, document = call(f"{rest_url}/v1/models/mnist:predict", body)
    assert status == 400, document
    assert error in document["error"]


def test_requests_over_the_limits_name_the_flag(tmp_path: Path) -> None:
    from serving.limits import RequestLimits
    from serving.rest import RestApi
    from tests.support import fixed_model

    fixed_model.export(tmp_path, 1)
    manager = ModelManager("mnist", LocalStore(str(tmp_path)), 1)
    manager.poll_once()
    api = RestApi(manager, "127.0.0.1", 0, RequestLimits(max_rows=3, max_bytes=40_000))
    api.start()
    try:
        url = f"http://{api.address}/v1/models/mnist:predict"
        assert call(url, {"instances": images(1, 2, 3)})[0] == 200
        status, document = call(url, {"instances": images(1, 2, 3, 4)})
        assert (status, document["error"]) == (
            400,
            "input 'x' has 4 rows (shape [4, 784]), over this server's limit of 3 rows a"
            " request (--max_request_rows); split the batch",
        )
        status, document = call(url, {"instances": [[0.1234567890123456] * IMAGE_PIXELS] * 3})
        assert status == 413
        assert "over this server's limit of 40000 bytes (--max_request_bytes)" in document["error"]
    finally:
        api.stop()


def test_any_body_gets_a_json_answer_never_a_500(manager: ModelManager) -> None:
    """Generated bodies straight through the handler's answer() (no socket: fast)."""
    from hypothesis import example, given, settings
    from hypothesis import strategies as st

    from serving import rest

    leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4)
    values = st.recursive(leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["x", "b64", "y"]), c, max_size=2), max_leaves=20)  # fmt: skip
    documents = st.dictionaries(
        st.sampled_from(["instances", "inputs", "signature_name", "other"]), values, max_size=3
    )

    @given(body=st.one_of(documents.map(lambda d: json.dumps(d).encode()), st.binary(max_size=60)))
    @example(body=b"[" * 5000)
    @example(body=b'{"instances": [{"b64": "AA=="}]}')
    @settings(max_examples=150)
    def check(body: bytes) -> None:
        status, document = rest.answer(manager, "POST", "/v1/models/mnist:predict", body)
        assert status < 500, (body, document)
        json.dumps(document)  # the answer is JSON

    check()


def test_clients_that_go_away_cost_one_log_line_each_not_a_traceback(
    rest_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    import socket
    import struct
    import time
    from urllib.parse import urlsplit

    parts = urlsplit(rest_url)
    body = json.dumps({"instances": images(*range(10)) * 10}).encode()
    request = (
        b"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: x\r\nContent-Length: "
        + str(len(body)).encode() + b"\r\n\r\n"
    )  # fmt: skip
    clients = 40
    capfd.readouterr()
    for number in range(clients):
        sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
        # Half of them send the whole request, half stop inside the body; all reset at close.
        sock.sendall(request + (body if number % 2 else body[: len(body) // 2]))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    time.sleep(3)  # the server answers into closed sockets
    assert call(f"{rest_url}/v1/models/mnist")[0] == 200, "the server still answers"
    log = capfd.readouterr().err
    assert "Traceback" not in log and "BrokenPipeError:" not in log.replace("(BrokenPipeError", "")
    assert len(log.splitlines()) <= clients, log


def test_at_most_rest_api_num_threads_requests_are_read_and_answered_at_once(
    manager: ModelManager,
) -> None:
    """With one slot, a client stalling inside its body holds the second client back."""
    import socket
    import threading

    from serving.rest import RestApi

    api = RestApi(manager, "127.0.0.1", 0, threads=1)
    api.start()
    host, port = api.address.split(":")
    try:
        body = json.dumps({"instances": images(1)}).encode()
        head = (
            b"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )  # fmt: skip
        stalled = socket.create_connection((host, int(port)), timeout=10)
        stalled.sendall(head + body[:10])  # holds the only slot, reading the rest
        slots = api.server.RequestHandlerClass.slots

        def slot_taken() -> bool:
            if slots.acquire(blocking=False):
                slots.release()
                return False
            return True

        # the second request must come only once the stalled one holds the slot
        until("the stalled client holding the only slot", slot_taken, timeout=10)
        second: list[int] = []
        waiter = threading.Thread(
            target=lambda: second.append(call(f"http://{api.address}/v1/models/mnist")[0])
        )
        waiter.start()
        waiter.join(1.0)
        assert second == [], "the second request was answered while the slot was taken"
        stalled.sendall(body[10:])
        assert stalled.recv(65536).startswith(b"HTTP/1.1 200")
        stalled.close()
        waiter.join(10)
        assert second == [200]
    finally:
        api.stop()
