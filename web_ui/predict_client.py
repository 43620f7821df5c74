"""A gRPC client of TF Serving's PredictionService for the MNIST model, with a deadline.

TF Serving's protos come from tf_serving_api, which needs no TensorFlow: the web UI and the test
process that use this client start in a fraction of a second.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

import grpc
import numpy as np

from model.contract import (
    IMAGE_PIXELS,
    INPUT_KEY,
    NUM_CLASSES,
    OUTPUT_CLASSES,
    OUTPUT_PREDICTIONS,
    SIGNATURE_NAME,
)
from tf_serving_api.protos import predict_pb2, prediction_service_pb2_grpc, tensor_pb2
from tf_serving_api.tensor_util import make_ndarray, make_tensor_proto

# gRPC's default 4 MiB cap is too small for the answers to large batches.
_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class ModelServerError(RuntimeError):
    """The model server did not answer, or answered with an error or a malformed response."""

    def __init__(self, target: str, code: grpc.StatusCode | None, details: str) -> None:
        self.target = target
        self.code = code
        self.details = details
        name = code.name if code is not None else "BAD_RESPONSE"
        super().__init__(f"model server {target}: {name}: {details}")


@dataclass(frozen=True)
class Prediction:
    """The model's answer for N images: classes int64 [N], probabilities float32 [N, 10]."""

    classes: np.ndarray
    probabilities: np.ndarray
    model_version: int


def image_tensor(images: np.ndarray) -> tensor_pb2.TensorProto:
    """A DT_FLOAT [N, 784] TensorProto of *images* (values 0..1)."""
    return make_tensor_proto(np.asarray(images, dtype=np.float32))


def tensor_array(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """The array in a response TensorProto, packed or in its typed value field.

    TF Serving answers in either form depending on its version; ValueError if the values do
    not fill the shape or the dtype is not a number TensorFlow converts.
    """
    try:
        return make_ndarray(proto)
    except TypeError as exc:
        raise ValueError(str(exc)) from exc


class PredictClient:
    """Predict MNIST digits with the model server at *target* (``host:port``).

    Use as a context manager, or call :meth:`close`: it owns a gRPC channel.
    """

    def __init__(self, target: str, model_name: str, timeout: float) -> None:
        self.target = target
        self.model_name = model_name
        self.timeout = timeout
        self._channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
            ],
        )
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def __enter__(self) -> PredictClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    def predict(self, images: np.ndarray) -> Prediction:
        """Classify *images*, float32 [N, 784] in 0..1; raise :class:`ModelServerError`."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 2 or images.shape[1] != IMAGE_PIXELS:
            raise ValueError(f"images must be [N, {IMAGE_PIXELS}], not {list(images.shape)}")
        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model_name
        request.model_spec.signature_name = SIGNATURE_NAME
        request.inputs[INPUT_KEY].CopyFrom(image_tensor(images))
        try:
            response = self._stub.Predict(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            raise ModelServerError(self.target, code, details or "no details") from exc
        return self._decode(response, len(images))

    def _decode(self, response: predict_pb2.PredictResponse, count: int) -> Prediction:
        try:
            classes = tensor_array(response.outputs[OUTPUT_CLASSES]).astype(np.int64)
            probabilities = tensor_array(response.outputs[OUTPUT_PREDICTIONS]).astype(np.float32)
        except (KeyError, ValueError) as exc:
            raise ModelServerError(self.target, None, f"malformed response: {exc}") from exc
        if classes.shape != (count,) or probabilities.shape != (count, NUM_CLASSES):
            raise ModelServerError(
                self.target,
                None,
                f"expected classes [{count}] and predictions [{count}, {NUM_CLASSES}], got"
                f" {list(classes.shape)} and {list(probabilities.shape)}",
            )
        return Prediction(classes, probabilities, int(response.model_spec.version.value))
