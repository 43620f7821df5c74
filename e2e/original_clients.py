"""Requests and reads the way the Kubeflow example's own two clients make them.

Written here in their manner, not copied: what matters is what goes over the wire and which
fields are read back (docs/wire-compatibility.md).

- ``mnist/mnist_client.py``, the command-line client: one image as ``x`` float32
  [1, 28, 28] to ``serving_default``; it prints the whole response.
- ``mnist/web-ui/mnist_client.py``, the example's web UI: one image as ``x`` float32
  [1, 784] to ``serving_default``; it reads ``outputs["classes"].int_val[0]`` and
  ``outputs["predictions"].float_val``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from model.contract import IMAGE_SIDE, INPUT_KEY, SIGNATURE_NAME
from tf_serving_api.protos import predict_pb2, prediction_service_pb2_grpc
from tf_serving_api.tensor_util import make_tensor_proto

# Both clients waited ten seconds for an answer.
TIMEOUT_SECONDS: Final = 10.0


@dataclass(frozen=True)
class Read:
    """What a client read from one answer: the class and the ten scores."""

    digit: int
    scores: list[float]


def _request(
    model_name: str, image: np.ndarray, shape: tuple[int, ...], signature: str
) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature
    # make_tensor_proto as theirs (tf.contrib.util.make_tensor_proto): packed float32 bytes.
    request.inputs[INPUT_KEY].CopyFrom(make_tensor_proto(image.astype(np.float32).reshape(shape)))
    return request


def _read(response: predict_pb2.PredictResponse) -> Read:
    # The original web UI's two reads, field for field: IndexError if int_val is empty.
    return Read(
        digit=response.outputs["classes"].int_val[0],
        scores=list(response.outputs["predictions"].float_val),
    )


def command_line_client(
    stub: prediction_service_pb2_grpc.PredictionServiceStub,
    model_name: str,
    image: np.ndarray,
    signature: str = SIGNATURE_NAME,
) -> predict_pb2.PredictResponse:
    """The command-line client's call: *image* (784 values) as [1, 28, 28]; the response."""
    request = _request(model_name, image, (1, IMAGE_SIDE, IMAGE_SIDE), signature)
    return stub.Predict(request, TIMEOUT_SECONDS)


def web_ui_client(
    stub: prediction_service_pb2_grpc.PredictionServiceStub,
    model_name: str,
    image: np.ndarray,
    signature: str = SIGNATURE_NAME,
) -> Read:
    """The example web UI's call: *image* as [1, 784]; then its int_val and float_val reads."""
    request = _request(model_name, image, (1, image.size), signature)
    return _read(stub.Predict(request, TIMEOUT_SECONDS))


def read_like_the_web_ui(response: predict_pb2.PredictResponse) -> Read:
    """The example web UI's reads applied to any answer (the command-line client's, say)."""
    return _read(response)
