"""TF Serving's REST API (``--rest_api_port``): model status, metadata and predict, as JSON.

Routes, as TF Serving has them (``/versions/<n>`` or ``/labels/<l>`` may follow the name):

- ``GET  /v1/models/<name>`` — model status: ``{"model_version_status": [...]}``
- ``GET  /v1/models/<name>/metadata`` — ``{"model_spec": ..., "metadata": {"signature_def": ...}}``
- ``POST /v1/models/<name>:predict`` — ``{"instances": [...]}`` (row format) answers
  ``{"predictions": [...]}``; ``{"inputs": ...}`` (columnar) answers ``{"outputs": ...}``.

Errors are ``{"error": "<message>"}`` with the HTTP status TF Serving maps the gRPC code to;
so are the HTTP server's own (a malformed request line, a bad Content-Length, an unknown
method). Routes are matched as TF Serving matches them (:mod:`serving.routes`), JSON inputs
converted by its rules (:mod:`serving.json_tensor`). No client input gets a 500: a malformed
body is a 400, one over ``--max_request_bytes`` a 413 (before it is read), and at most
``--rest_api_num_threads`` requests are read and answered at a time. A client that goes away
mid-request costs one log line, never a traceback.

Built on the standard library's ThreadingHTTPServer rather than Flask: this process needs
nothing a web framework offers for four JSON routes, and keeping one out of it keeps the model
server's dependencies those of TF Serving's clients (gRPC and the serving protos) plus the
TensorFlow runtime that runs the model.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

import grpc
import numpy as np
from google.protobuf import json_format

from serving import api, http_body, memory, routes, tensors
from serving.limits import DEFAULT_LIMITS, RequestLimits
from serving.log import say
from serving.manager import ModelManager
from serving.status_errors import ServingError, invalid_argument
from tf_serving_api.protos import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    meta_graph_pb2,
    model_pb2,
)

# A client silent this long (mid-request, or idle on a kept-alive connection) is dropped, so
# half-open clients cannot hold threads for ever.
IDLE_TIMEOUT_SECONDS: Final = 30.0
# How often the accept loop looks for a shutdown: stop() waits for it, and socketserver's
# default (0.5 s) was up to half a second of every stop (the local run's teardown waits for it).
SHUTDOWN_POLL_SECONDS: Final = 0.05
# rapidjson (TF Serving's parser) reads an integer literal past a double's range as an error.
_DOUBLE_DIGITS: Final = 309


def default_threads() -> int:
    """TF Serving's default for --rest_api_num_threads: four per schedulable CPU."""
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return 4 * (len(usable) if usable else os.cpu_count() or 1)


def model_spec(route: routes.Route) -> model_pb2.ModelSpec:
    """The ModelSpec a route names."""
    spec = model_pb2.ModelSpec(name=route.name)
    if route.version is not None:
        spec.version.value = route.version
    if route.label is not None:
        spec.version_label = route.label
    return spec


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # "1e400": a double cannot hold it (NaN, Infinity are constants)
        raise ValueError(f"the number {text[:40]} is too big to be stored in a double")
    return value


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > _DOUBLE_DIGITS:  # also keeps int() off its 4,300-digit refusal
        raise ValueError(f"the number {text[:20]}… ({digits} digits) is too big for any tensor")
    return int(text)


def json_body(body: bytes) -> dict[str, Any]:
    """The request's JSON object; INVALID_ARGUMENT ("JSON Parse error: …") if it is none."""
    if not body.strip():
        raise invalid_argument("JSON Parse error: The document is empty")
    try:
        document = json.loads(body, parse_float=_finite_float, parse_int=_integer)
    except RecursionError:
        raise invalid_argument(
            "JSON Parse error: lists or objects nested too deeply (the parser's limit is"
            f" {sys.getrecursionlimit()}); an input nests only as deep as its shape"
        ) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a number hook's refusal
        raise invalid_argument(f"JSON Parse error: {exc}") from None
    if not isinstance(document, dict):
        raise invalid_argument("JSON Parse error: the request body must be a JSON object")
    return document


def _is_named(instance: Any) -> bool:
    """An object naming inputs, as opposed to a value (``{"b64": …}`` is a value)."""
    return isinstance(instance, dict) and not (
        len(instance) == 1 and isinstance(instance.get("b64"), str)
    )


def _row_inputs(instances: list[Any], signature_def: meta_graph_pb2.SignatureDef) -> dict[str, Any]:
    """Row format: a list of instances, each a value (one input) or an object of inputs."""
    objects = [_is_named(instance) for instance in instances]
    if instances and all(objects):
        keys = set(instances[0])
        for number, instance in enumerate(instances):
            if set(instance) != keys:
                raise invalid_argument(
                    f"instance {number} has inputs {sorted(instance)} but instance 0 has"
                    f" {sorted(keys)}; every instance must name the same inputs"
                )
        return {key: [instance[key] for instance in instances] for key in keys}
    if any(objects):
        raise invalid_argument("'instances' mixes objects and plain values; use one kind")
    names = sorted(signature_def.inputs)
    if len(names) != 1:
        raise invalid_argument(
            f"the signature has {len(names)} inputs ({', '.join(names)}); give each instance"
            " as an object naming them"
        )
    return {names[0]: instances}


def _columnar_inputs(inputs: Any, signature_def: meta_graph_pb2.SignatureDef) -> dict[str, Any]:
    """Columnar format: one value (one input), or an object of input name → value."""
    if isinstance(inputs, dict):
        return inputs
    names = sorted(signature_def.inputs)
    if len(names) != 1:
        raise invalid_argument(
            f"the signature has {len(names)} inputs ({', '.join(names)}); give 'inputs' as an"
            " object naming them"
        )
    return {names[0]: inputs}


def predict_json(
    manager: ModelManager,
    spec: model_pb2.ModelSpec,
    document: dict[str, Any],
    limits: RequestLimits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """The answer to ``POST …:predict`` with *document* as its JSON body."""
    signature_name = document.get("signature_name", "")
    if not isinstance(signature_name, str):
        raise invalid_argument("'signature_name' key must be a string value.")
    spec.signature_name = signature_name
    has_instances, has_inputs = "instances" in document, "inputs" in document
    if has_instances == has_inputs:
        raise invalid_argument(
            "Missing 'inputs' or 'instances' key"
            if not has_instances
            else "Not formatted correctly expecting only one of 'inputs' or 'instances' keys"
            " exclusively"
        )
    if has_instances and not isinstance(document["instances"], list):
        raise invalid_argument("Expecting 'instances' to be an list/array")

    def convert(signature_def: meta_graph_pb2.SignatureDef, key: str) -> dict[str, np.ndarray]:
        if has_instances and not document["instances"]:  # TF Serving's check and text
            raise invalid_argument("No values in 'instances' array; send at least one instance")
        values = (
            _row_inputs(document["instances"], signature_def)
            if has_instances
            else _columnar_inputs(document["inputs"], signature_def)
        )
        return tensors.json_arrays(values, signature_def, key, limits)

    _, _, results = api.run(manager, spec, convert)
    if has_instances:
        if len(results) == 1:
            return {"predictions": next(iter(results.values())).tolist()}
        rows = len(next(iter(results.values())))
        return {
            "predictions": [
                {name: array[row].tolist() for name, array in results.items()}
                for row in range(rows)
            ]
        }
    if len(results) == 1:
        return {"outputs": next(iter(results.values())).tolist()}
    return {"outputs": {name: array.tolist() for name, array in results.items()}}


def status_json(manager: ModelManager, spec: model_pb2.ModelSpec) -> dict[str, Any]:
    """The answer to ``GET /v1/models/<name>``."""
    request = get_model_status_pb2.GetModelStatusRequest(model_spec=spec)
    return json_format.MessageToDict(
        api.model_status(manager, request),
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )


def metadata_json(manager: ModelManager, spec: model_pb2.ModelSpec) -> dict[str, Any]:
    """The answer to ``GET /v1/models/<name>/metadata`` (the SignatureDef map, unpacked)."""
    request = get_model_metadata_pb2.GetModelMetadataRequest(
        model_spec=spec, metadata_field=[api.SIGNATURE_DEF_FIELD]
    )
    response = api.model_metadata(manager, request)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata[api.SIGNATURE_DEF_FIELD].Unpack(signature_map)
    return {
        "model_spec": {
            "name": response.model_spec.name,
            "signature_name": "",
            "version": str(response.model_spec.version.value),
        },
        "metadata": {
            api.SIGNATURE_DEF_FIELD: json_format.MessageToDict(
                signature_map, preserving_proto_field_name=True
            )
        },
    }


def answer(
    manager: ModelManager,
    method: str,
    target: str,
    body: bytes,
    limits: RequestLimits = DEFAULT_LIMITS,
) -> tuple[int, Any]:
    """HTTP status and JSON document for one request; never raises."""
    try:
        route = routes.parse(method, target)
        spec = model_spec(route)
        if route.action == "status":
            return HTTPStatus.OK, status_json(manager, spec)
        if route.action == "metadata":
            return HTTPStatus.OK, metadata_json(manager, spec)
        if route.action == "predict":
            return HTTPStatus.OK, predict_json(manager, spec, json_body(body), limits)
        raise ServingError(
            grpc.StatusCode.UNIMPLEMENTED,
            f"{route.action} is not served by the embedded model server; use :predict",
        )
    except ServingError as exc:
        return exc.http_status, {"error": exc.message}
    except Exception as exc:  # a bug must fail this request, never the server
        say(f"REST {method} {target[:200]} failed unexpectedly: {type(exc).__name__}: {exc}")
        return HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(exc).__name__}: {exc}"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client's requests share one connection
    timeout = IDLE_TIMEOUT_SECONDS  # StreamRequestHandler sets it on the socket
    # Set on the subclass made per server:
    manager: ModelManager
    limits: RequestLimits
    slots: threading.BoundedSemaphore

    def _respond(self) -> None:
        method = self.command
        with self.slots:  # bounds the bodies in memory and the requests in flight
            try:
                body = http_body.read_body(self.headers, self.rfile, self.limits.max_bytes)
            except http_body.BodyError as exc:
                self._send(exc.status, {"error": exc.message}, close=True)
                return
            except TimeoutError:
                self._aborted(f"stopped sending its body for {self.timeout:g} s")
                return
            size = len(body)
            status, document = answer(self.manager, method, self.path, body, self.limits)
            del body  # the answer may be written slowly: do not hold the request's bytes
            self._send(status, document)
            del document
            memory.release_after(size)  # the parsed JSON is garbage now, however large it was

    def _send(self, status: int, document: Any, *, close: bool = False) -> None:
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if close:  # the rest of this request was not read: the connection cannot go on
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    # Every method TF Serving's server parses reaches the router, which answers TF Serving's
    # "Malformed request" (400) for all but GET and POST.
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _respond

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The HTTP server's own errors (bad request line, unknown method…), as TF Serving's JSON."""
        self.log_error("%d %s", code, message or HTTPStatus(code).phrase)
        self._send(code, {"error": message or HTTPStatus(code).phrase}, close=True)

    def handle_one_request(self) -> None:
        self.command, self.path = None, ""  # a failure before the request line names no old one
        try:
            super().handle_one_request()
        except OSError as exc:  # reset, broken pipe: the client went away mid-request
            self._aborted(f"went away ({type(exc).__name__}: {exc})")

    def _aborted(self, why: str) -> None:
        self.close_connection = True
        request = f"{self.command} {self.path[:200]}" if self.command else "a request"
        say(f"REST {request} from {self.client_address[0]}: the client {why}; dropped")

    def log_error(self, format: str, *args: Any) -> None:
        """One line per refused or aborted request; idle kept-alive connections close quietly."""
        message = format % args
        if message.startswith("Request timed out") and not self.command:
            return
        say(f"REST {self.client_address[0]}: {message}")

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: one stderr line per request would drown the server's own log."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a keep-alive connection must not hold shutdown up
    request_queue_size = 128  # the listen backlog: bursts of clients wait, not get refused

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A failure the handler did not catch: one line, not socketserver's traceback."""
        error = sys.exc_info()[1]
        say(f"REST request from {client_address[0]} failed: {type(error).__name__}: {error}")


class RestApi:
    """The REST server on *host*:*port*, answering in its own threads."""

    def __init__(
        self,
        manager: ModelManager,
        host: str,
        port: int,
        limits: RequestLimits = DEFAULT_LIMITS,
        threads: int | None = None,
    ) -> None:
        handler = type(
            "Handler",
            (_Handler,),
            {
                "manager": manager,
                "limits": limits,
                "slots": threading.BoundedSemaphore(threads or default_threads()),
            },
        )
        server_class = type(
            "Server",
            (_Server,),
            {"address_family": socket.AF_INET6 if ":" in host else socket.AF_INET},
        )
        self.server = server_class((host, port), handler)
        self.address = f"{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="rest",
            daemon=True,
        )

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests, close the socket."""
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which must run
            self.server.shutdown()
        self.server.server_close()
