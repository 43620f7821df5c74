"""A gRPC client of TF Serving's PredictionService for the MNIST model, with a deadline.

Importing the TF Serving protos imports TensorFlow (the protos live in its package), so import
this module where that cost is paid once.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

import grpc
import numpy as np
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from model.contract import (
    IMAGE_PIXELS,
    INPUT_KEY,
    NUM_CLASSES,
    OUTPUT_CLASSES,
    OUTPUT_PREDICTIONS,
    SIGNATURE_NAME,
)

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
    array = np.ascontiguousarray(images, dtype="<f4")
    shape = tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in array.shape]
    )
    return tensor_pb2.TensorProto(
        dtype=types_pb2.DT_FLOAT, tensor_shape=shape, tensor_content=array.tobytes()
    )


_NUMPY_DTYPES = {types_pb2.DT_FLOAT: "<f4", types_pb2.DT_INT64: "<i8"}
_VALUE_FIELDS = {types_pb2.DT_FLOAT: "float_val", types_pb2.DT_INT64: "int64_val"}


def tensor_array(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """The array in a DT_FLOAT or DT_INT64 TensorProto, packed or in its typed value field.

    Written here rather than with ``tf.make_ndarray`` so that decoding needs no TensorFlow
    runtime, only its protos; TF Serving answers in either form depending on its version.
    """
    if proto.dtype not in _NUMPY_DTYPES:
        raise ValueError(f"unexpected dtype {types_pb2.DataType.Name(proto.dtype)}")
    shape = tuple(dim.size for dim in proto.tensor_shape.dim)
    count = int(np.prod(shape)) if shape else 1
    if proto.tensor_content:
        values = np.frombuffer(proto.tensor_content, dtype=_NUMPY_DTYPES[proto.dtype])
    else:
        values = np.asarray(getattr(proto, _VALUE_FIELDS[proto.dtype]), _NUMPY_DTYPES[proto.dtype])
        if 0 < len(values) < count:  # TensorFlow's own shorthand: the last value repeats
            values = np.concatenate([values, np.repeat(values[-1], count - len(values))])
    if len(values) != count:
        raise ValueError(f"{len(values)} values for shape {list(shape)}")
    return values.reshape(shape)


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
