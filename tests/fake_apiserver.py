"""A scripted stand-in for the Kubernetes API server, on a loopback port, for deploy-step tests.

The real ``kubernetes`` client talks to it over real HTTP (requests, watches, status codes),
so the code under test is exercised end to end; the server answers from a route table and
records every request. It is a test double of the API server, not of the client.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kubernetes.client import ApiClient, Configuration


@dataclass
class Request:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # keys lower-cased
    body: Any


# A route answers (status, JSON body); a watch route answers a list of events to stream.
Responder = Callable[[Request], tuple[int, Any]]


@dataclass
class FakeApiServer:
    """Routes keyed by (method, path); ``watch`` routes by path, for ``?watch=true`` GETs."""

    routes: dict[tuple[str, str], Responder] = field(default_factory=dict)
    watches: dict[str, Callable[[Request], list[dict[str, Any]]]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    url: str = ""

    def route(self, method: str, path: str, *answers: tuple[int, Any]) -> None:
        """Answer *method path* with *answers* in turn, repeating the last one."""
        queue = list(answers)

        def respond(_request: Request) -> tuple[int, Any]:
            return queue.pop(0) if len(queue) > 1 else queue[0]

        self.routes[(method, path)] = respond

    def client(self) -> ApiClient:
        """A real ApiClient pointed at this server."""
        configuration = Configuration(host=self.url)
        return ApiClient(configuration)

    def seen(self, method: str, path: str) -> list[Request]:
        """The requests received for *method path*."""
        return [r for r in self.requests if r.method == method and r.path == path]


def status_body(code: int, message: str) -> dict[str, Any]:
    """The API server's Status object for an error."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "code": code,
    }


# -- API JSON for a Deployment whose pods belong to its one ReplicaSet -----------------------


def deployment_json(
    name: str, namespace: str, available: int, labels: dict[str, str]
) -> dict[str, Any]:
    """A Deployment at revision 1 with one replica, *available* of them available."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"{name}-uid",
            "generation": 1,
            "annotations": {"deployment.kubernetes.io/revision": "1"},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": name, "image": "image:1"}]},
            },
        },
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": available,
        },
    }


def replica_set_list(name: str, namespace: str) -> dict[str, Any]:
    """The Deployment's revision-1 ReplicaSet, as a list."""
    owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": f"{name}-uid"}
    return {
        "kind": "ReplicaSetList",
        "metadata": {"resourceVersion": "5"},
        "items": [
            {
                "metadata": {
                    "name": f"{name}-1",
                    "namespace": namespace,
                    "uid": f"{name}-rs-uid",
                    "annotations": {"deployment.kubernetes.io/revision": "1"},
                    "ownerReferences": [{**owner, "controller": True}],
                }
            }
        ],
    }


def pod_json(
    name: str, namespace: str, labels: dict[str, str], waiting: str | None
) -> dict[str, Any]:
    """A pod of the ReplicaSet: running and ready, or with its container *waiting*."""
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{name}-1"}
    state = (
        {"waiting": {"reason": waiting, "message": f"{waiting} for image:1"}}
        if waiting
        else {"running": {"startedAt": "2026-11-24T12:00:00Z"}}
    )
    return {
        "metadata": {
            "name": f"{name}-1-x",
            "namespace": namespace,
            "labels": labels,
            "ownerReferences": [{**owner, "uid": f"{name}-rs-uid", "controller": True}],
        },
        "status": {
            "phase": "Pending" if waiting else "Running",
            "containerStatuses": [
                {
                    "name": name,
                    "image": "image:1",
                    "imageID": "",
                    "ready": waiting is None,
                    "restartCount": 0,
                    "state": state,
                }
            ],
        },
    }


def pod_list(pods: list[dict[str, Any]], resource_version: str = "10") -> dict[str, Any]:
    """*pods* as a PodList at *resource_version*."""
    return {"kind": "PodList", "metadata": {"resourceVersion": resource_version}, "items": pods}


@contextmanager
def serving(fake: FakeApiServer) -> Iterator[FakeApiServer]:
    """Serve *fake* on 127.0.0.1 for the duration of the block."""

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode()
            request = Request(
                self.command,
                parts.path,
                parse_qs(parts.query),
                {key.lower(): value for key, value in self.headers.items()},
                body,
            )
            fake.requests.append(request)
            if self.command == "GET" and [v.lower() for v in request.query.get("watch", [])] == [
                "true"
            ]:
                events = fake.watches.get(parts.path, lambda _r: [])(request)
                self._send(200, "\n".join(json.dumps(e) for e in events).encode() + b"\n")
                return
            responder = fake.routes.get((self.command, parts.path))
            code, answer = (
                responder(request)
                if responder
                else (404, status_body(404, f"{self.command} {parts.path} not found"))
            )
            self._send(code, json.dumps(answer).encode())

        def _send(self, code: int, payload: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
