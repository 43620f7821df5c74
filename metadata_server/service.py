"""The gRPC side: every method of ``ml_metadata.MetadataStoreService``, forwarded as bytes.

One generic handler serves the whole service. The method list comes from the service
descriptor in the wheel's ``metadata_store_service_pb2``, so the server answers exactly the
methods its store was built with, and no request is parsed in Python: the serialized request
goes to the C++ store, which parses it (a malformed one is its INVALID_ARGUMENT), and the
store's serialized response goes back to the client untouched. The store's status becomes the
call's status with the store's message, which is what metadata_store_server does and what
KFP's Go client tests for (NOT_FOUND, ALREADY_EXISTS; ABORTED and UNAVAILABLE it retries).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import grpc
from ml_metadata.proto import metadata_store_service_pb2

from metadata_server.stderr_log import say
from metadata_server.store import Store, StoreError, supports

SERVICE: Final = metadata_store_service_pb2.DESCRIPTOR.services_by_name["MetadataStoreService"]
_STATUS_BY_NUMBER: Final = {status.value[0]: status for status in grpc.StatusCode}

Behaviour = Callable[[bytes, grpc.ServicerContext], bytes]


def status_code(number: int) -> grpc.StatusCode:
    """The gRPC status with absl status number *number* (they share numbering); else UNKNOWN."""
    return _STATUS_BY_NUMBER.get(number, grpc.StatusCode.UNKNOWN)


def method_names() -> list[str]:
    """Every method of MetadataStoreService, in the order the proto declares them."""
    return [method.name for method in SERVICE.methods]


def unsupported_methods() -> list[str]:
    """The service's methods the wheel's store extension does not bind (UNIMPLEMENTED here)."""
    return [name for name in method_names() if not supports(name)]


def _forward(store: Store, method: str) -> Behaviour:
    def behaviour(request: bytes, context: grpc.ServicerContext) -> bytes:
        try:
            return store.call(method, request)
        except StoreError as exc:
            code = status_code(exc.code)
            # metadata_store_server logs every failed call too; NOT_FOUND is routine for KFP.
            flat = " ".join(exc.message.split())  # store messages span lines; a log line must not
            say(f"{method} failed: {code.name}: {flat}")
            context.abort(code, exc.message)
        except Exception as exc:  # a bug must fail this call, never the server
            say(f"{method} failed unexpectedly: {type(exc).__name__}: {exc}")
            context.abort(grpc.StatusCode.INTERNAL, f"{method}: {type(exc).__name__}: {exc}")
        raise AssertionError("context.abort always raises")  # pragma: no cover

    return behaviour


def _unimplemented(method: str) -> Behaviour:
    message = (
        f"{method} is not implemented by this metadata server: the ml-metadata wheel's store"
        " extension has no binding for it"
    )

    def behaviour(request: bytes, context: grpc.ServicerContext) -> bytes:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, message)
        raise AssertionError("context.abort always raises")  # pragma: no cover

    return behaviour


def build_handler(store: Store) -> grpc.GenericRpcHandler:
    """The handler for the whole service; methods the store lacks answer UNIMPLEMENTED."""
    handlers = {
        # No (de)serializers: requests and responses pass through as bytes.
        name: grpc.unary_unary_rpc_method_handler(
            _forward(store, name) if supports(name) else _unimplemented(name)
        )
        for name in method_names()
    }
    return grpc.method_handlers_generic_handler(SERVICE.full_name, handlers)
