"""The web UI's routes against the real model server, ``python -m serving``.

The session's ``model_server`` (tests/conftest.py) serves the fixed model
(tests/support/fixed_model.py), whose answers are known in advance; the UI, its client, gRPC
and the server are the real ones, and the tests that use it are slow (TensorFlow). Routes that
never ask a model server are checked with one at a closed port, so they stay fast. Where a
test must see what the UI sent, or needs a server too slow for the UI's deadline, a tap in
front of the real server does that (tests/support/grpc_tap.py); nothing here re-implements
the model.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from fixtures.ports import free_port
from model.data import load_test_digits
from tests.support.grpc_tap import PREDICT, GrpcTap
from tf_serving_api.protos import predict_pb2
from web_ui.app import create_app
from web_ui.predict_client import image_tensor, tensor_array
from web_ui.settings import UiConfig


def fixed_answer(images: np.ndarray) -> np.ndarray:
    """What the fixed model answers for *images*, computed here (it imports TensorFlow)."""
    from tests.support.fixed_model import probabilities

    return probabilities(images)


def _client(servers: dict[str, str], timeout: float = 5.0):
    app = create_app({"TESTING": True, "UI": UiConfig(servers, timeout_seconds=timeout)})
    return app.test_client()


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


@pytest.fixture
def nowhere(unused_port: int) -> str:
    """A model server target nothing answers at: for routes that must not need one."""
    return f"127.0.0.1:{unused_port}"


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return load_test_digits()


def test_page_shows_digit_truth_prediction_and_ten_bars(model_server, digits) -> None:
    response = _client({"local": model_server.target}).get("/?index=5")
    page = response.get_data(as_text=True)
    expected = fixed_answer(digits[0][5:6])[0]
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
    with GrpcTap(model_server.target) as tap:
        assert _client({"local": tap.target}).get("/api/predict?index=11").status_code == 200
    (request,) = tap.requests(PREDICT, predict_pb2.PredictRequest)
    assert (request.model_spec.name, request.model_spec.signature_name) == (
        "mnist",
        "serving_default",
    )
    np.testing.assert_array_equal(tensor_array(request.inputs["x"]), digits[0][11:12])


def test_json_is_the_same_prediction(model_server, digits) -> None:
    response = _client({"local": model_server.target}).get("/api/predict?index=5")
    answer = json.loads(response.data)
    expected = fixed_answer(digits[0][5:6])[0]
    assert answer["index"] == 5 and answer["truth"] == int(digits[1][5])
    assert answer["prediction"] == int(expected.argmax())
    assert answer["probabilities"] == pytest.approx(expected.tolist(), abs=1e-6)
    assert (answer["model_version"], answer["server"]) == (3, "local")


def test_no_index_shows_some_test_digit(model_server, digits) -> None:
    page = _client({"local": model_server.target}).get("/").get_data(as_text=True)
    index = int(page.split('<span id="index">')[1].split("<")[0])
    assert 0 <= index < len(digits[1])


@pytest.mark.parametrize("index", ["1000", "-1", "x", "1e3"])
def test_an_index_outside_the_test_set_is_404_with_the_range(nowhere, index) -> None:
    response = _client({"local": nowhere}).get(f"/?index={index}")
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
def test_a_malformed_index_is_404_never_500(nowhere, path, query) -> None:
    response = _client({"local": nowhere}).get(f"{path}?{query}")
    assert response.status_code == 404, response.data[:300]
    assert b"use 0 to 999" in response.data


@pytest.mark.parametrize("query", ["index=abc", "index=", "index=1000"])
def test_the_json_endpoint_answers_a_bad_index_in_json(nowhere, query) -> None:
    response = _client({"local": nowhere}).get(f"/api/predict?{query}")
    assert response.status_code == 404
    assert response.is_json, response.data[:300]
    assert response.get_json()["status"] == 404
    assert "is not a test digit: use 0 to 999" in response.get_json()["error"]


def test_an_unknown_api_path_is_json_and_a_page_error_stays_html(nowhere) -> None:
    client = _client({"local": nowhere})
    api = client.get("/api/nothing-here")
    assert (api.status_code, api.is_json) == (404, True)
    page = client.get("/?index=")  # empty: a bad index like any other, not a random digit
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert b"use 0 to 999" in page.data


def test_the_heading_names_the_index_as_a_position_not_a_digit(model_server) -> None:
    page = _client({"local": model_server.target}).get("/?index=5").get_data(as_text=True)
    assert '<h1>MNIST test digit #<span id="index">5</span></h1>' in page


@pytest.fixture(scope="module")
def shared_client(model_server):
    """One app, calling the real model server, for many generated requests."""
    return _client({"local": model_server.target})


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


def test_the_browser_chooses_a_server_by_name_only(model_server) -> None:
    with GrpcTap(model_server.target) as other:  # "b": the same server, reached through a tap
        client = _client({"a": model_server.target, "b": other.target})
        assert json.loads(client.get("/api/predict?index=1&server=b").data)["model_version"] == 3
        assert len(other.requests(PREDICT, predict_pb2.PredictRequest)) == 1
        assert json.loads(client.get("/api/predict?index=1").data)["model_version"] == 3
        page = client.get("/?index=1").get_data(as_text=True)
        assert '<option value="b">b</option>' in page and other.target not in page
        refused = client.get(f"/?index=1&server={other.target}")
        assert refused.status_code == 400 and b"is not configured" in refused.data
        predicts = other.requests(PREDICT, predict_pb2.PredictRequest)
        assert len(predicts) == 1, "a request for the default server went to b"


def test_an_unreachable_server_gives_a_503_page_and_json(unused_port: int) -> None:
    client = _client({"local": f"127.0.0.1:{unused_port}"}, timeout=2)
    page = client.get("/?index=0")
    assert page.status_code == 503
    assert b"Model server unavailable" in page.data and b"UNAVAILABLE" in page.data
    assert b"Traceback" not in page.data
    api = client.get("/api/predict?index=0")
    assert api.status_code == 503 and "UNAVAILABLE" in json.loads(api.data)["error"]


def test_a_slow_server_hits_the_deadline(model_server) -> None:
    with GrpcTap(model_server.target, delay=1.5) as slow:  # the real server, 1.5 s late
        response = _client({"local": slow.target}, timeout=0.3).get("/api/predict?index=0")
        assert response.status_code == 503
        assert "DEADLINE_EXCEEDED" in json.loads(response.data)["error"]
        # The first call (the client asks for the signature first) reached it and waited.
        assert len(slow.calls) == 1, "the call should have reached the server and waited"


def test_readiness_follows_the_model_server(model_server, unused_port: int) -> None:
    assert _client({"local": model_server.target}).get("/readyz").status_code == 200
    down = _client({"local": f"127.0.0.1:{unused_port}"}, timeout=1)
    assert down.get("/readyz").status_code == 503
    assert down.get("/healthz").status_code == 200


def test_the_digit_png_is_the_test_image(nowhere, digits) -> None:
    response = _client({"local": nowhere}).get("/digit/42.png")
    image = Image.open(io.BytesIO(response.data))
    assert response.content_type == "image/png" and image.size == (28, 28) and image.mode == "L"
    expected = np.round(digits[0][42].reshape(28, 28) * 255)
    np.testing.assert_array_equal(np.asarray(image), expected)
    assert _client({"local": nowhere}).get("/digit/1000.png").status_code == 404


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


def test_browsers_asking_for_an_icon_get_no_content(nowhere) -> None:
    assert _client({"local": nowhere}).get("/favicon.ico").status_code == 204
