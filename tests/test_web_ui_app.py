"""The web UI's routes against a real gRPC PredictionService on a loopback socket.

The servicer here stands in for TF Serving with a fixed rule (pixel *i* votes for class
``i % 10``) so every answer is known in advance; the UI, its client and gRPC are the real ones.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from fixtures.ports import free_port
from model.data import load_test_digits
from tf_serving_api.protos import predict_pb2, prediction_service_pb2_grpc
from web_ui import create_app
from web_ui.predict_client import image_tensor, tensor_array
from web_ui.settings import UiConfig


def votes(images: np.ndarray) -> np.ndarray:
    """The rule the test servicer applies: softmax of per-class pixel sums."""
    sums = np.stack([images[:, k::10].sum(axis=1) for k in range(10)], axis=1)
    exp = np.exp(sums - sums.max(axis=1, keepdims=True))
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


@dataclass
class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Answers like TF Serving (typed value fields, the model version); can be slowed down."""

    version: int = 3
    delay: float = 0.0
    requests: list[predict_pb2.PredictRequest] = field(default_factory=list)

    def Predict(self, request, context):
        self.requests.append(request)
        time.sleep(self.delay)
        if request.model_spec.name != "mnist":
            context.abort(
                grpc.StatusCode.NOT_FOUND, f"Servable not found: {request.model_spec.name}"
            )
        images = tensor_array(request.inputs["x"])
        probabilities = votes(images)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = "mnist"
        response.model_spec.version.value = self.version
        response.model_spec.signature_name = "serving_default"
        classes = response.outputs["classes"]
        classes.dtype = 9  # DT_INT64
        classes.tensor_shape.dim.add(size=len(images))
        classes.int64_val.extend(probabilities.argmax(axis=1).tolist())
        predictions = response.outputs["predictions"]
        predictions.dtype = 1  # DT_FLOAT
        predictions.tensor_shape.dim.add(size=len(images))
        predictions.tensor_shape.dim.add(size=10)
        predictions.float_val.extend(probabilities.ravel().tolist())
        return response


@dataclass
class Running:
    servicer: Servicer
    target: str


def _serve(servicer: Servicer) -> Iterator[Running]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield Running(servicer, f"127.0.0.1:{port}")
    finally:
        server.stop(grace=None)


@pytest.fixture
def model_server() -> Iterator[Running]:
    """A PredictionService on a free loopback port; teardown stops it."""
    yield from _serve(Servicer())


@pytest.fixture
def other_server() -> Iterator[Running]:
    """A second PredictionService, serving version 9."""
    yield from _serve(Servicer(version=9))


def _client(servers: dict[str, str], timeout: float = 5.0):
    app = create_app({"TESTING": True, "UI": UiConfig(servers, timeout_seconds=timeout)})
    return app.test_client()


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return load_test_digits()


def test_page_shows_digit_truth_prediction_and_ten_bars(model_server, digits) -> None:
    response = _client({"local": model_server.target}).get("/?index=5")
    page = response.get_data(as_text=True)
    expected = votes(digits[0][5:6])[0]
    assert response.status_code == 200
    assert 'src="/digit/5.png"' in page
    assert f'<span id="truth">{digits[1][5]}</span>' in page
    assert f'<span id="prediction">{expected.argmax()}</span>' in page
    assert '<span id="model-version">3</span>' in page
    assert page.count('class="bar') == 10
    for digit, probability in enumerate(expected):
        assert f'data-digit="{digit}" data-probability="{probability:.6f}"' in page
        assert f'style="width: {probability * 100:.2f}%"' in page


def test_the_request_names_the_model_and_signature_and_carries_the_pixels(
    model_server, digits
) -> None:
    _client({"local": model_server.target}).get("/api/predict?index=11")
    (request,) = model_server.servicer.requests
    assert (request.model_spec.name, request.model_spec.signature_name) == (
        "mnist",
        "serving_default",
    )
    np.testing.assert_array_equal(tensor_array(request.inputs["x"]), digits[0][11:12])


def test_json_is_the_same_prediction(model_server, digits) -> None:
    response = _client({"local": model_server.target}).get("/api/predict?index=5")
    answer = json.loads(response.data)
    expected = votes(digits[0][5:6])[0]
    assert answer["index"] == 5 and answer["truth"] == int(digits[1][5])
    assert answer["prediction"] == int(expected.argmax())
    assert answer["probabilities"] == pytest.approx(expected.tolist(), abs=1e-6)
    assert (answer["model_version"], answer["server"]) == (3, "local")


def test_no_index_shows_some_test_digit(model_server, digits) -> None:
    page = _client({"local": model_server.target}).get("/").get_data(as_text=True)
    index = int(page.split('<span id="index">')[1].split("<")[0])
    assert 0 <= index < len(digits[1])


@pytest.mark.parametrize("index", ["1000", "-1", "x", "1e3"])
def test_an_index_outside_the_test_set_is_404_with_the_range(model_server, index) -> None:
    response = _client({"local": model_server.target}).get(f"/?index={index}")
    assert response.status_code == 404
    assert b"use 0 to 999" in response.data


@pytest.mark.parametrize(
    "query",
    [
        "index=%C2%B2",  # "²": str.isdigit() accepted it, int() raised: a 500 before
        "index=" + "1" * 5000,  # past int()'s digit limit: a 500 before
        "index=%D9%A3",  # an Arabic-Indic 3
        "index=%FF",  # not UTF-8
        "index=%00",
    ],
)
@pytest.mark.parametrize("path", ["/", "/api/predict"])
def test_a_malformed_index_is_404_never_500(model_server, path, query) -> None:
    response = _client({"local": model_server.target}).get(f"{path}?{query}")
    assert response.status_code == 404, response.data[:300]
    assert b"use 0 to 999" in response.data


@pytest.fixture(scope="module")
def shared_client():
    """One app and test model server for many generated requests; teardown stops the server."""
    for running in _serve(Servicer()):
        yield _client({"local": running.target})


@given(
    params=st.dictionaries(
        st.sampled_from(["index", "server", "other"]),
        st.text(st.characters(exclude_categories=["Cs"]), max_size=60),
    )
)
@example(params={"index": "²"})
@example(params={"index": "7" * 5000})
@settings(max_examples=60)
def test_no_query_string_gets_a_server_error(shared_client, params) -> None:
    for path in ("/", "/api/predict"):
        status = shared_client.get(path, query_string=params).status_code
        assert status in (200, 400, 404), (path, params, status)


@pytest.mark.parametrize(
    "path",
    [
        "/api//predict?index=1",  # the probe's case: merged slashes were redirected
        "",  # what waitress makes of "GET http://evil.example HTTP/1.1": a "missing slash"
        "//digit/1.png",
        "/api/predict//",
        "//",
    ],
)
def test_odd_paths_are_not_redirected_to_the_requests_host(model_server, path) -> None:
    response = get_path(_client({"local": model_server.target}), path)
    assert "Location" not in response.headers
    assert response.status_code in (200, 404)
    if path.startswith("/api//"):
        assert response.status_code == 404  # the probe's case: no route, so not found


def get_path(client, path: str):
    """GET *path* exactly as a server receives it, with ``Host: evil.example``.

    The path goes in as PATH_INFO: given to the test client as a URL, "//digit" would be
    read as a host named "digit".
    """
    raw_path, _, query = path.partition("?")
    return client.get(
        "/",
        query_string=query,
        headers={"Host": "evil.example"},
        environ_overrides={"PATH_INFO": raw_path},
    )


@given(
    segments=st.lists(
        st.sampled_from(["", "api", "predict", "digit", "1.png", "healthz", "readyz", "."]),
        max_size=5,
    )
)
@example(segments=["api", "", "predict"])
@example(segments=[])
@settings(max_examples=60)
def test_no_path_redirects_to_the_requests_host(shared_client, segments) -> None:
    response = get_path(shared_client, "/".join(["", *segments]) if segments else "")
    assert "Location" not in response.headers
    assert response.status_code in (200, 204, 404), (segments, response.status_code)


def test_the_browser_chooses_a_server_by_name_only(model_server, other_server) -> None:
    client = _client({"a": model_server.target, "b": other_server.target})
    assert json.loads(client.get("/api/predict?index=1&server=b").data)["model_version"] == 9
    assert json.loads(client.get("/api/predict?index=1").data)["model_version"] == 3
    page = client.get("/?index=1").get_data(as_text=True)
    assert '<option value="b">b</option>' in page and other_server.target not in page
    refused = client.get(f"/?index=1&server={other_server.target}")
    assert refused.status_code == 400 and b"is not configured" in refused.data


def test_an_unreachable_server_gives_a_503_page_and_json(unused_port: int) -> None:
    client = _client({"local": f"127.0.0.1:{unused_port}"}, timeout=2)
    page = client.get("/?index=0")
    assert page.status_code == 503
    assert b"Model server unavailable" in page.data and b"UNAVAILABLE" in page.data
    assert b"Traceback" not in page.data
    api = client.get("/api/predict?index=0")
    assert api.status_code == 503 and "UNAVAILABLE" in json.loads(api.data)["error"]


def test_a_slow_server_hits_the_deadline() -> None:
    for running in _serve(Servicer(delay=1.5)):
        response = _client({"local": running.target}, timeout=0.3).get("/api/predict?index=0")
        assert response.status_code == 503
        assert "DEADLINE_EXCEEDED" in json.loads(response.data)["error"]


def test_readiness_follows_the_model_server(model_server, unused_port: int) -> None:
    assert _client({"local": model_server.target}).get("/readyz").status_code == 200
    down = _client({"local": f"127.0.0.1:{unused_port}"}, timeout=1)
    assert down.get("/readyz").status_code == 503
    assert down.get("/healthz").status_code == 200


def test_the_digit_png_is_the_test_image(model_server, digits) -> None:
    response = _client({"local": model_server.target}).get("/digit/42.png")
    image = Image.open(io.BytesIO(response.data))
    assert response.content_type == "image/png" and image.size == (28, 28) and image.mode == "L"
    expected = np.round(digits[0][42].reshape(28, 28) * 255)
    np.testing.assert_array_equal(np.asarray(image), expected)
    assert _client({"local": model_server.target}).get("/digit/1000.png").status_code == 404


def test_pages_forbid_loading_anything_from_elsewhere(model_server) -> None:
    response = _client({"local": model_server.target}).get("/?index=0")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_corrupt_test_file_stops_the_app_naming_the_file(tmp_path) -> None:
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="t10k-"):
        create_app({"UI": UiConfig({"a": "h:1"}, data_dir=tmp_path)})


def test_the_client_decodes_packed_and_typed_tensors() -> None:
    images = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    np.testing.assert_array_equal(tensor_array(image_tensor(images)), images)
    shorthand = predict_pb2.PredictResponse().outputs["p"]
    shorthand.dtype = 1
    shorthand.tensor_shape.dim.add(size=4)
    shorthand.float_val.append(0.25)
    np.testing.assert_array_equal(tensor_array(shorthand), [0.25] * 4)


def test_the_cli_refuses_to_start_without_a_model_server() -> None:
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "MNIST_UI_MODEL_SERVERS": "nowhere"}
    done = subprocess.run(
        [sys.executable, "-m", "web_ui", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 2, done.stderr
    assert "MNIST_UI_MODEL_SERVERS: 'nowhere' (for 'default') is not host:port" in done.stderr


def test_browsers_asking_for_an_icon_get_no_content(model_server) -> None:
    assert _client({"local": model_server.target}).get("/favicon.ico").status_code == 204
