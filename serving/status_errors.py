"""The errors a request can end in: one gRPC status each, mapped to HTTP for the REST API."""

from __future__ import annotations

from typing import Final

import grpc

# TF Serving's REST API maps canonical status codes to HTTP the way grpc-gateway does
# (tensorflow_serving/model_servers/http_rest_api_util.cc, ToHTTPStatusCode).
HTTP_STATUS: Final[dict[grpc.StatusCode, int]] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}


class ServingError(Exception):
    """A request failed with gRPC status *code*; *message* is what the client reads."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        """The HTTP status TF Serving's REST API answers for this error."""
        return HTTP_STATUS.get(self.code, 500)

    def __repr__(self) -> str:
        return f"ServingError({self.code.name}, {self.message!r})"


def invalid_argument(message: str) -> ServingError:
    """The request itself is wrong (bad input, unknown label); retrying will not help."""
    return ServingError(grpc.StatusCode.INVALID_ARGUMENT, message)


def servable_request(name: str, version: int | None) -> str:
    """TF Serving's text for a servable request: ``Latest(mnist)`` or ``Specific(mnist, 3)``."""
    return f"Latest({name})" if version is None else f"Specific({name}, {version})"


def servable_not_found(name: str, version: int | None = None, hint: str = "") -> ServingError:
    """NOT_FOUND with TF Serving's own text, which clients match on; *hint* is appended."""
    message = f"Servable not found for request: {servable_request(name, version)}"
    return ServingError(grpc.StatusCode.NOT_FOUND, f"{message}{hint}")
