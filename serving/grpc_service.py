"""The gRPC side: TF Serving's PredictionService and ModelService, and grpc.health.v1.

Health follows the model: NOT_SERVING until a version is loaded, SERVING while one is, and
NOT_SERVING again from the start of shutdown, for the whole server ("") and for
``tensorflow.serving.PredictionService`` by name.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from typing import Final, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from serving import api
from serving.limits import DEFAULT_LIMITS, RequestLimits
from serving.log import say
from serving.manager import ModelManager
from serving.status_errors import ServingError
from tf_serving_api.protos import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2,
    prediction_service_pb2_grpc,
)

PREDICTION_SERVICE: Final = prediction_service_pb2.DESCRIPTOR.services_by_name[
    "PredictionService"
].full_name
# Answers may be as large as protobuf allows (TF Serving raises gRPC's 4 MiB cap to that).
MAX_MESSAGE_BYTES: Final = 2**31 - 1
# Requests: --max_request_bytes of tensor values plus room for the rest of the message, so a
# tensor over the limit is refused by the check that names the flag; past this, gRPC itself
# answers RESOURCE_EXHAUSTED before the message is even parsed.
REQUEST_ENVELOPE_BYTES: Final = 1024 * 1024
# Request threads mostly wait inside TensorFlow, which releases the GIL.
WORKER_THREADS: Final = 8

Response = TypeVar("Response")


def _answer(context: grpc.ServicerContext, what: str, call: Callable[[], Response]) -> Response:
    """Run *call*; turn a ServingError into its status, anything else into INTERNAL."""
    try:
        return call()
    except ServingError as exc:
        context.abort(exc.code, exc.message)
    except Exception as exc:  # a bug must fail this request, never the server
        say(f"{what} failed unexpectedly: {type(exc).__name__}: {exc}")
        context.abort(grpc.StatusCode.INTERNAL, f"{what} failed: {type(exc).__name__}: {exc}")
    raise AssertionError("context.abort always raises")  # pragma: no cover


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Predict and GetModelMetadata; Classify, Regress and MultiInference stay UNIMPLEMENTED."""

    def __init__(self, manager: ModelManager, limits: RequestLimits = DEFAULT_LIMITS) -> None:
        self.manager = manager
        self.limits = limits

    def Predict(
        self, request: predict_pb2.PredictRequest, context: grpc.ServicerContext
    ) -> predict_pb2.PredictResponse:
        """Run the requested signature on the request's inputs."""
        return _answer(context, "Predict", lambda: api.predict(self.manager, request, self.limits))

    def GetModelMetadata(
        self,
        request: get_model_metadata_pb2.GetModelMetadataRequest,
        context: grpc.ServicerContext,
    ) -> get_model_metadata_pb2.GetModelMetadataResponse:
        """The loaded version's SignatureDef map."""
        return _answer(
            context, "GetModelMetadata", lambda: api.model_metadata(self.manager, request)
        )


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    """GetModelStatus; HandleReloadConfigRequest stays UNIMPLEMENTED (no config file here)."""

    def __init__(self, manager: ModelManager) -> None:
        self.manager = manager

    def GetModelStatus(
        self,
        request: get_model_status_pb2.GetModelStatusRequest,
        context: grpc.ServicerContext,
    ) -> get_model_status_pb2.GetModelStatusResponse:
        """Each version seen and its state (LOADING, AVAILABLE, END)."""
        return _answer(context, "GetModelStatus", lambda: api.model_status(self.manager, request))


class Health:
    """The grpc.health.v1 servicer, set from the model's state."""

    SERVICES: Final = ("", PREDICTION_SERVICE)

    def __init__(self) -> None:
        self.servicer = health.HealthServicer()
        self.set_serving(False)

    def set_serving(self, serving: bool) -> None:
        """SERVING when a version is loaded, NOT_SERVING otherwise."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for service in self.SERVICES:
            self.servicer.set(service, status)

    def shutting_down(self) -> None:
        """NOT_SERVING for good: new health checks tell load balancers to go elsewhere."""
        self.servicer.enter_graceful_shutdown()


def build_server(
    manager: ModelManager, health_state: Health, limits: RequestLimits = DEFAULT_LIMITS
) -> grpc.Server:
    """A gRPC server with all three services, not yet bound or started."""
    receive = min(limits.max_bytes + REQUEST_ENVELOPE_BYTES, MAX_MESSAGE_BYTES)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="grpc"),
        options=[
            ("grpc.max_receive_message_length", receive),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            # One port, one server: a second process must not silently share it.
            ("grpc.so_reuseport", 0),
        ],
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(manager, limits), server
    )
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(manager), server)
    health_pb2_grpc.add_HealthServicer_to_server(health_state.servicer, server)
    return server
