"""TF Serving's REST API (``--rest_api_port``): model status, metadata and predict, as JSON.

Routes, as TF Serving has them (``/versions/<n>`` or ``/labels/<l>`` may follow the name):

- ``GET  /v1/models/<name>`` — model status: ``{"model_version_status": [...]}``
- ``GET  /v1/models/<name>/metadata`` — ``{"model_spec": ..., "metadata": {"signature_def": ...}}``
- ``POST /v1/models/<name>:predict`` — ``{"instances": [...]}`` (row format) answers
  ``{"predictions": [...]}``; ``{"inputs": ...}`` (columnar) answers ``{"outputs": ...}``.

Errors are ``{"error": "<message>"}`` with the HTTP status TF Serving maps the gRPC code to.

Built on the standard library's ThreadingHTTPServer rather than Flask: this process needs
nothing a web framework offers for four JSON routes, and keeping one out of it keeps the model
server's dependencies those of TF Serving's clients (gRPC and the serving protos) plus the
TensorFlow runtime that runs the model.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

import grpc
import numpy as np
from google.protobuf import json_format

from serving import api, tensors
from serving.errors import ServingError, invalid_argument
from serving.log import say
from serving.manager import ModelManager
from tf_serving_api.protos import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    meta_graph_pb2,
    model_pb2,
)

ROUTE: Final = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>-?\d+)|/labels/(?P<label>[^/:]+))?"
    r"(?P<action>/metadata|:predict|:classify|:regress)?$"
)


def parse_route(method: str, path: str) -> tuple[str, model_pb2.ModelSpec]:
    """The action (``status``, ``metadata``, ``predict``…) and model spec a request names."""
    match = ROUTE.match(path.split("?", 1)[0])
    if match is None:
        # TF Serving's REST dispatcher owns /v1/ only: elsewhere nothing is there (404).
        code = (
            grpc.StatusCode.INVALID_ARGUMENT
            if path.startswith("/v1/")
            else grpc.StatusCode.NOT_FOUND
        )
        raise ServingError(code, f"Malformed request: {method} {path}")
    spec = model_pb2.ModelSpec(name=match["name"])
    if match["version"] is not None:
        spec.version.value = int(match["version"])
    if match["label"] is not None:
        spec.version_label = match["label"]
    action = (match["action"] or "").lstrip("/:") or "status"
    allowed = "POST" if action in ("predict", "classify", "regress") else "GET"
    if method != allowed:
        raise invalid_argument(f"Malformed request: {method} {path}")
    return action, spec


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body or b"null")
    except ValueError as exc:
        raise invalid_argument(f"JSON Parse error: {exc}") from exc
    if not isinstance(document, dict):
        raise invalid_argument("JSON Parse error: the request body must be a JSON object")
    return document


def _row_inputs(instances: list[Any], signature_def: meta_graph_pb2.SignatureDef) -> dict[str, Any]:
    """Row format: a list of instances, each a value (one input) or an object of inputs."""
    objects = [isinstance(instance, dict) for instance in instances]
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
    manager: ModelManager, spec: model_pb2.ModelSpec, document: dict[str, Any]
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
        values = (
            _row_inputs(document["instances"], signature_def)
            if has_instances
            else _columnar_inputs(document["inputs"], signature_def)
        )
        return tensors.json_arrays(values, signature_def, key)

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


def answer(manager: ModelManager, method: str, path: str, body: bytes) -> tuple[int, Any]:
    """HTTP status and JSON document for one request; never raises."""
    try:
        action, spec = parse_route(method, path)
        if action == "status":
            return HTTPStatus.OK, status_json(manager, spec)
        if action == "metadata":
            return HTTPStatus.OK, metadata_json(manager, spec)
        if action == "predict":
            return HTTPStatus.OK, predict_json(manager, spec, _json_body(body))
        raise ServingError(
            grpc.StatusCode.UNIMPLEMENTED,
            f"{action} is not served by the embedded model server; use :predict",
        )
    except ServingError as exc:
        return exc.http_status, {"error": exc.message}
    except Exception as exc:  # a bug must fail this request, never the server
        say(f"REST {method} {path} failed unexpectedly: {type(exc).__name__}: {exc}")
        return HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(exc).__name__}: {exc}"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client's requests share one connection
    manager: ModelManager  # set on the subclass made per server

    def _respond(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, document = answer(self.manager, method, self.path, body)
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._respond("GET")

    def do_POST(self) -> None:
        self._respond("POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: one stderr line per request would drown the server's own log."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a keep-alive connection must not hold shutdown up


class RestApi:
    """The REST server on *host*:*port*, answering in its own threads."""

    def __init__(self, manager: ModelManager, host: str, port: int) -> None:
        handler = type("Handler", (_Handler,), {"manager": manager})
        server_class = type(
            "Server",
            (_Server,),
            {"address_family": socket.AF_INET6 if ":" in host else socket.AF_INET},
        )
        self.server = server_class((host, port), handler)
        self.address = f"{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="rest", daemon=True)

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests, close the socket."""
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which must run
            self.server.shutdown()
        self.server.server_close()
