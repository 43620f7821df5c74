"""A DOUBLE of TF Serving's PredictionService that answers from a script: for what the real
model server never does — answer off the contract (no ``classes``, probabilities that do not
sum to 1) or fail with a chosen status on a chosen call. The deploy step's probe is tested
against it; everything the real server can show is tested against the real one."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import grpc
import numpy as np


@contextmanager
def scripted_prediction_server() -> Iterator[tuple[str, list[Any], list[Any]]]:
    """``(host:port, script, received)``: append behaviours to *script* ("ok", "no-classes",
    "not-softmax", "ok-v6" (the previous version) or a grpc.StatusCode to abort with; the last one repeats); *received*
    collects every request."""
    from tf_serving_api.protos import (
        predict_pb2,
        prediction_service_pb2_grpc,
    )
    from tf_serving_api.tensor_util import typed_tensor_proto

    script: list[Any] = []
    received: list[Any] = []

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request: Any, context: Any) -> Any:
            received.append(request)
            behaviour = script.pop(0) if len(script) > 1 else script[0]
            if isinstance(behaviour, grpc.StatusCode):
                context.abort(behaviour, f"scripted {behaviour.name}")
            response = predict_pb2.PredictResponse()
            response.model_spec.name = request.model_spec.name
            response.model_spec.version.value = 6 if behaviour == "ok-v6" else 7
            # As TF Serving answers the contract: uint8 classes in int_val, float_val scores.
            classes = typed_tensor_proto(np.array([3], np.uint8))
            if behaviour in ("ok", "ok-v6"):
                response.outputs["classes"].CopyFrom(classes)
                response.outputs["predictions"].CopyFrom(
                    typed_tensor_proto(np.full((1, 10), 0.1, np.float32))
                )
            elif behaviour == "no-classes":
                response.outputs["predictions"].CopyFrom(
                    typed_tensor_proto(np.full((1, 10), 0.1, np.float32))
                )
            elif behaviour == "not-softmax":
                response.outputs["classes"].CopyFrom(classes)
                response.outputs["predictions"].CopyFrom(
                    typed_tensor_proto(np.full((1, 10), 0.5, np.float32))
                )
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", script, received
    finally:
        server.stop(grace=None)
