"""A gRPC client of TF Serving's PredictionService for the MNIST model, with a deadline.

It works against this project's export and the original example's alike
(docs/wire-compatibility.md): it asks the server for the served signature (GetModelMetadata)
and shapes each request to it — [N, 28, 28] where ``x`` is declared so, [N, 784] otherwise —
and reads ``classes`` from whichever typed field its dtype uses (int_val for the uint8 both
exports answer with, int64_val for int64). TF Serving's protos come from tf_serving_api, which
needs no TensorFlow: the web UI and the test process that use this client start in a fraction
of a second.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

import grpc
import numpy as np
from google.protobuf.message import Message

from model.contract import (
    IMAGE_PIXELS,
    IMAGE_SHAPES,
    INPUT_KEY,
    NUM_CLASSES,
    OUTPUT_CLASSES,
    OUTPUT_PREDICTIONS,
    SIGNATURE_NAME,
)
from tf_serving_api.protos import (
    get_model_metadata_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
    tensor_pb2,
)
from tf_serving_api.tensor_util import make_ndarray, make_tensor_proto

# gRPC's default 4 MiB cap is too small for the answers to large batches.
_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_SIGNATURE_DEF_FIELD = "signature_def"  # GetModelMetadata's one metadata field


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
    """The model's answer for N images: classes int64 [N] (whatever integer type the model
    answered with), probabilities float32 [N, 10]."""

    classes: np.ndarray
    probabilities: np.ndarray
    model_version: int


def image_tensor(
    images: np.ndarray, image_shape: tuple[int, ...] = (IMAGE_PIXELS,)
) -> tensor_pb2.TensorProto:
    """A DT_FLOAT TensorProto of *images* (values 0..1), each shaped *image_shape*."""
    flat = np.asarray(images, dtype=np.float32)
    return make_tensor_proto(flat.reshape((len(flat), *image_shape)))


def served_image_shape(signature_map: get_model_metadata_pb2.SignatureDefMap) -> tuple[int, ...]:
    """The shape of one image the served ``serving_default`` takes ``x`` in: (784,) or (28, 28).

    A declared rank decides it (the original example's export: [-1, 28, 28]); an input with no
    declared shape (this project's, which takes both) gets the flat one. ValueError for a
    signature that takes neither.
    """
    if SIGNATURE_NAME not in signature_map.signature_def:
        raise ValueError(
            f"the model has no {SIGNATURE_NAME!r} signature (it has"
            f" {', '.join(sorted(signature_map.signature_def)) or 'none'})"
        )
    inputs = signature_map.signature_def[SIGNATURE_NAME].inputs
    if INPUT_KEY not in inputs:
        raise ValueError(
            f"{SIGNATURE_NAME!r} has no input {INPUT_KEY!r} (inputs: {', '.join(sorted(inputs))})"
        )
    shape = inputs[INPUT_KEY].tensor_shape
    if shape.unknown_rank:
        return (IMAGE_PIXELS,)
    image_shape = tuple(dim.size for dim in shape.dim[1:])
    if image_shape not in IMAGE_SHAPES:
        declared = [dim.size for dim in shape.dim]
        raise ValueError(
            f"{SIGNATURE_NAME!r} takes {INPUT_KEY!r} as {declared}, not a batch of MNIST"
            f" images ([-1, {IMAGE_PIXELS}] or [-1, 28, 28])"
        )
    return image_shape


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
        # (model version, image shape) of the served signature, read once and read again
        # when another version answers or a request is refused.
        self._served: tuple[int, tuple[int, ...]] | None = None

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

    def _call(self, method: str, request: Message) -> Message:
        """*request* to PredictionService.*method*; a failed call is a ModelServerError."""
        try:
            return getattr(self._stub, method)(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            raise ModelServerError(self.target, code, details or "no details") from exc

    def image_shape(self) -> tuple[int, ...]:
        """The shape of one image in the requests the served signature takes (cached)."""
        if self._served is None:
            request = get_model_metadata_pb2.GetModelMetadataRequest()
            request.model_spec.name = self.model_name
            request.metadata_field.append(_SIGNATURE_DEF_FIELD)
            response = self._call("GetModelMetadata", request)
            signature_map = get_model_metadata_pb2.SignatureDefMap()
            try:
                if not response.metadata[_SIGNATURE_DEF_FIELD].Unpack(signature_map):
                    raise ValueError("its signature_def metadata is not a SignatureDefMap")
                shape = served_image_shape(signature_map)
            except ValueError as exc:
                raise ModelServerError(self.target, None, f"unusable model: {exc}") from exc
            self._served = (int(response.model_spec.version.value), shape)
        return self._served[1]

    def predict(self, images: np.ndarray) -> Prediction:
        """Classify *images*, float32 [N, 784] in 0..1; raise :class:`ModelServerError`.

        The request carries them in the shape the served signature declares.
        """
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 2 or images.shape[1] != IMAGE_PIXELS:
            raise ValueError(f"images must be [N, {IMAGE_PIXELS}], not {list(images.shape)}")
        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model_name
        request.model_spec.signature_name = SIGNATURE_NAME
        request.inputs[INPUT_KEY].CopyFrom(image_tensor(images, self.image_shape()))
        try:
            response = self._call("Predict", request)
        except ModelServerError as exc:
            if exc.code == grpc.StatusCode.INVALID_ARGUMENT:
                self._served = None  # a new version may take another shape: ask again
            raise
        prediction = self._decode(response, len(images))
        if self._served is not None and self._served[0] != prediction.model_version:
            self._served = None  # another version answered: read its signature next time
        return prediction

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
