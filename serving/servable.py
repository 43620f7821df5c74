"""One loaded version of a model: its SavedModel signatures, runnable and described.

The SavedModel is run through ``tf.saved_model.load(...).signatures`` — the same concrete
functions TF Serving executes — and described by the ``SignatureDef`` map read from its
``saved_model.pb`` (what TF Serving's GetModelMetadata returns and what input checks compare
against).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from google.protobuf.message import DecodeError

from serving.status_errors import ServingError
from tf_serving_api.protos import meta_graph_pb2, saved_model_pb2

SERVE_TAG = "serve"


def read_saved_model(directory: Path) -> saved_model_pb2.SavedModel:
    """The SavedModel proto in *directory*, or the ServingError TensorFlow's reader gives.

    A load failure is reported the way TF Serving reports it (GetModelStatus, the log): the
    canonical code and text of TensorFlow's own ``ReadSavedModel``, which clients and people
    already know.
    """
    saved_model = saved_model_pb2.SavedModel()
    binary, text = directory / "saved_model.pb", directory / "saved_model.pbtxt"
    if binary.is_file():
        try:
            saved_model.ParseFromString(binary.read_bytes())
        except DecodeError as exc:
            raise ServingError(
                grpc.StatusCode.DATA_LOSS, f"Can't parse {binary} as binary proto"
            ) from exc
    elif text.is_file():
        try:
            text_format.Parse(text.read_text("utf-8", errors="replace"), saved_model)
        except text_format.ParseError as exc:
            raise ServingError(
                grpc.StatusCode.DATA_LOSS, f"Can't parse {text} as text proto"
            ) from exc
    else:
        raise ServingError(
            grpc.StatusCode.NOT_FOUND,
            "Could not find SavedModel .pb or .pbtxt at supplied export directory path:"
            f" {directory}",
        )
    return saved_model


def read_signature_defs(directory: Path) -> dict[str, meta_graph_pb2.SignatureDef]:
    """The ``serve``-tagged meta graph's SignatureDef map of the SavedModel in *directory*."""
    saved_model = read_saved_model(directory)
    for meta_graph in saved_model.meta_graphs:
        if SERVE_TAG in meta_graph.meta_info_def.tags:
            return dict(meta_graph.signature_def)
    raise ServingError(
        grpc.StatusCode.NOT_FOUND,
        f"Could not find meta graph def matching supplied tags: {{ {SERVE_TAG} }} in {directory}",
    )


@dataclass
class Servable:
    """A model version ready to answer: run its signatures, describe them."""

    name: str
    version: int
    signature_defs: dict[str, meta_graph_pb2.SignatureDef]
    functions: Mapping[str, Any]
    load_seconds: float = 0.0
    # The loaded object owns the variables the functions read; keep it alive with them.
    _root: Any = field(default=None, repr=False)

    @classmethod
    def load(cls, name: str, version: int, directory: Path) -> Servable:
        """Load the SavedModel in *directory* and warm every signature up once."""
        started = time.monotonic()
        signature_defs = read_signature_defs(directory)
        try:
            root = tf.saved_model.load(str(directory), tags=[SERVE_TAG])
        except tf.errors.OpError as exc:  # missing variables, bad checkpoint: TF's own status
            raise ServingError(status_of(exc), exc.message) from exc
        functions = dict(root.signatures)
        servable = cls(name, version, signature_defs, functions, _root=root)
        servable._warm_up()
        servable.load_seconds = time.monotonic() - started
        return servable

    def _warm_up(self) -> None:
        # The first call of a restored function builds its runtime state; doing it here
        # keeps that cost off the first client's request (TF Serving's warmup requests).
        # An input declared with no shape (this project's ``x``, which takes two ranks) gives
        # nothing to build a request from: that signature warms up on its first request.
        for key in self.functions:
            declared = self.signature_defs[key].inputs
            if any(info.tensor_shape.unknown_rank for info in declared.values()):
                continue
            inputs = {
                name: np.zeros(
                    [d.size if d.size >= 0 else 1 for d in info.tensor_shape.dim],
                    tf.dtypes.as_dtype(info.dtype).as_numpy_dtype,
                )
                for name, info in declared.items()
            }
            # Best effort: a signature that rejects all-zero input still serves real requests.
            with contextlib.suppress(ServingError):
                self.run(key, inputs)

    def run(
        self, signature_name: str, inputs: Mapping[str, np.ndarray], outputs: Sequence[str] = ()
    ) -> dict[str, np.ndarray]:
        """Run signature *signature_name* on checked *inputs*; return *outputs* (all if empty).

        Safe to call from many threads at once: a restored concrete function is stateless
        apart from the variables it only reads, and the TensorFlow runtime is thread-safe.
        """
        function = self.functions[signature_name]
        try:
            results = function(**{k: tf.convert_to_tensor(v) for k, v in inputs.items()})
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as exc:
            # What input checks did not catch (e.g. values a model rejects): the client's.
            raise ServingError(status_of(exc), f"{type(exc).__name__}: {exc}") from exc
        wanted = outputs or tuple(results)
        return {key: results[key].numpy() for key in wanted}


def status_of(exc: Exception) -> grpc.StatusCode:
    """The gRPC status for an error raised while running a signature.

    TensorFlow's error codes are the canonical status codes gRPC uses, number for number.
    """
    if isinstance(exc, tf.errors.OpError):
        return _STATUS_BY_NUMBER.get(exc.error_code, grpc.StatusCode.UNKNOWN)
    return grpc.StatusCode.INVALID_ARGUMENT


_STATUS_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}
