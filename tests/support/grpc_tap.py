"""A pass-through gRPC proxy in front of a real server: it records what clients send, and can
hold each call back.

A double, kept for two things the real model server cannot show: it keeps no record a test
can read of the requests it was sent (the model name, signature and pixels the web UI put in
them, or which of two servers a request went to), and nothing makes it slow, so a client's
deadline cannot be hit against it. The tap re-implements nothing: every call's bytes go to
the upstream server unchanged, and its answer or error comes back unchanged.

    with GrpcTap(model_server.target) as tap:
        ...  # point the client at tap.target
        (request,) = tap.requests(PREDICT, predict_pb2.PredictRequest)
"""

from __future__ import annotations

import threading
import types
from concurrent import futures
from typing import TypeVar

import grpc
from google.protobuf.message import Message

PREDICT = "/tensorflow.serving.PredictionService/Predict"
M = TypeVar("M", bound=Message)


class GrpcTap:
    """Unary-unary calls on 127.0.0.1 at a free port, forwarded to *upstream* (``host:port``).

    *delay* seconds pass before each call is forwarded (closing the tap ends the wait: the
    call then fails UNAVAILABLE). Use as a context manager: exit stops the server, closes the
    upstream channel.
    """

    def __init__(self, upstream: str, delay: float = 0.0) -> None:
        self.upstream = upstream
        self.delay = delay
        self.calls: list[tuple[str, bytes]] = []  # (method path, request bytes), as received
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._channel = grpc.insecure_channel(upstream)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers([_Forward(self)])
        self.target = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"
        self._server.start()

    def requests(self, method: str, message_type: type[M]) -> list[M]:
        """The requests received for *method*, parsed as *message_type*, in order."""
        with self._lock:
            return [message_type.FromString(body) for path, body in self.calls if path == method]

    def forward(self, method: str, request: bytes, context: grpc.ServicerContext) -> bytes:
        """Record *request*, wait *delay*, then answer with the upstream server's answer."""
        with self._lock:
            self.calls.append((method, request))
        if self._closed.wait(self.delay):
            context.abort(grpc.StatusCode.UNAVAILABLE, "the tap was closed")
        call = self._channel.unary_unary(method)  # bytes in, bytes out: nothing is parsed
        try:
            return call(request, timeout=context.time_remaining())
        except grpc.RpcError as error:
            code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
            details = error.details() if isinstance(error, grpc.Call) else str(error)
            context.abort(code, details or "")  # raises: the client gets the same error

    def close(self) -> None:
        self._closed.set()
        self._server.stop(grace=None).wait(5)
        self._channel.close()

    def __enter__(self) -> GrpcTap:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        self.close()


class _Forward(grpc.GenericRpcHandler):
    """Every method is a unary-unary call the tap forwards, request and answer as bytes."""

    def __init__(self, tap: GrpcTap) -> None:
        self._tap = tap

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method  # type: ignore[attr-defined]
        return grpc.unary_unary_rpc_method_handler(
            lambda request, context: self._tap.forward(method, request, context)
        )
