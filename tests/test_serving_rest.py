"""serving.rest: TF Serving's REST API over a real socket — status, metadata, predict, errors."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from model.contract import IMAGE_PIXELS, NUM_CLASSES
from serving.manager import ModelManager
from serving.storage import LocalStore

# Loads a SavedModel with TensorFlow (seconds to import): the whole module is slow.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rest_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:<free port>`` serving ``mnist`` version 5 of the fixed model.

    Teardown stops the server and closes its socket.
    """
    from serving import fixed_model
    from serving.rest import RestApi

    base = tmp_path_factory.mktemp("export")
    fixed_model.export(base, 5)
    manager = ModelManager("mnist", LocalStore(str(base)), 1)
    manager.poll_once()
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
    from serving.fixed_model import image_of_class

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
