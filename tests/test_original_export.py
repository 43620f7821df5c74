"""This project's web UI, its client and the e2e prediction assertions against a model exported
the way the Kubeflow example exported its own (tests/support/original_model.py): ``x``
declared [None, 28, 28], uint8 ``classes``, signatures ``serving_default`` and ``classes``.

Served by the real ``python -m serving``; the UI, its client and gRPC are the real ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from e2e.original_clients import command_line_client
from fixtures.assertions import assert_accuracy, assert_probability_rows
from model.contract import IMAGE_SIDE, MODEL_NAME
from model.data import load_test_digits
from tests.support.grpc_tap import PREDICT, GrpcTap
from tests.support.model_server import Server, eventually, start_server
from tf_serving_api.protos import predict_pb2, prediction_service_pb2_grpc, types_pb2
from web_ui.app import create_app
from web_ui.predict_client import PredictClient, tensor_array
from web_ui.settings import UiConfig

pytestmark = pytest.mark.slow  # trains a model and starts a TensorFlow server
VERSION = 1


@pytest.fixture(scope="module")
def original_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python -m serving`` serving the original-style export as version 1.

    Teardown stops the server (SIGTERM, else kill); the export goes with pytest's tmp dirs.
    """
    from tests.support import original_model

    directory = tmp_path_factory.mktemp("original-export")
    original_model.export(directory / "export", VERSION)
    server = start_server(str(directory / "export"), directory / "server.log")
    try:
        eventually(
            "model server serving the original-style export",
            lambda: _assert_serving(server),
            timeout=120,
        )
        yield server
    finally:
        server.stop_or_kill()


def _assert_serving(server: Server) -> None:
    if server.process.poll() is not None:
        pytest.fail(f"model server exited {server.process.returncode}:\n{server.log}")
    assert server.health_status() == "SERVING"


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return load_test_digits()


@pytest.fixture(scope="module")
def answer(original_server: Server, digits):
    """This project's client's answer for every test digit, as the e2e suite asks for it."""
    with PredictClient(original_server.target, MODEL_NAME, timeout=30) as client:
        assert client.image_shape() == (IMAGE_SIDE, IMAGE_SIDE)
        return client.predict(digits[0])


def test_the_e2e_prediction_assertions_hold(answer, digits, tmp_path: Path) -> None:
    assert_accuracy(answer.classes, digits[1], 0.85, where=str(tmp_path))
    assert_probability_rows(answer.probabilities, where=str(tmp_path))
    np.testing.assert_array_equal(answer.classes, answer.probabilities.argmax(axis=1))
    assert answer.model_version == VERSION


def test_the_client_sends_28x28_images_to_it(original_server: Server, digits) -> None:
    with (
        GrpcTap(original_server.target) as tap,
        PredictClient(tap.target, MODEL_NAME, timeout=30) as client,
    ):
        client.predict(digits[0][:3])
    (request,) = tap.requests(PREDICT, predict_pb2.PredictRequest)
    sent = tensor_array(request.inputs["x"])
    assert sent.shape == (3, IMAGE_SIDE, IMAGE_SIDE)
    np.testing.assert_array_equal(sent.reshape(3, -1), digits[0][:3])


def test_the_web_ui_shows_the_right_digit(original_server: Server, answer, digits) -> None:
    app = create_app({"TESTING": True, "UI": UiConfig({"local": original_server.target})})
    client = app.test_client()
    right = np.flatnonzero(answer.classes == digits[1])[:10]
    assert len(right) == 10
    for index in right:
        shown = json.loads(client.get(f"/api/predict?index={index}").data)
        assert shown["prediction"] == shown["truth"] == int(digits[1][index]), shown
        assert shown["probabilities"] == pytest.approx(
            answer.probabilities[index].tolist(), abs=1e-5
        )
        page = client.get(f"/?index={index}").get_data(as_text=True)
        assert f'<span id="prediction">{digits[1][index]}</span>' in page


def test_its_classes_come_in_int_val_as_uint8(original_server: Server, digits) -> None:
    """The original web UI's read, ``int_val[0]``, works against the original export too."""
    with grpc.insecure_channel(original_server.target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        response = command_line_client(stub, MODEL_NAME, digits[0][0])
    classes = response.outputs["classes"]
    assert classes.dtype == types_pb2.DT_UINT8
    assert list(classes.int_val) == [int(np.argmax(response.outputs["predictions"].float_val))]
