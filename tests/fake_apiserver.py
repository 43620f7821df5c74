"""A scripted stand-in for the Kubernetes API server, on a loopback port, for deploy-step tests.

The real ``kubernetes`` client talks to it over real HTTP (requests, watches, status codes),
so the code under test is exercised end to end; the server answers from a route table and
records every request. It is a test double of the API server, not of the client.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiClient, Configuration

from tests import loopback_http


@dataclass
class Request:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # keys lower-cased
    body: Any  # parsed JSON; text if it is not JSON; None if empty

    @classmethod
    def from_wire(cls, request: loopback_http.Request) -> Request:
        """*request* with its body parsed."""
        try:
            body = json.loads(request.body) if request.body else None
        except ValueError:
            body = request.body.decode()
        return cls(request.method, request.path, request.query, request.headers, body)


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

    def answer(self, wire: loopback_http.Request) -> tuple[int, Any]:
        """Record *wire* and answer it from the watches (``GET ?watch=true``) or the routes."""
        request = Request.from_wire(wire)
        self.requests.append(request)
        if request.method == "GET" and is_watch(request.query):
            events = self.watches.get(request.path, lambda _r: [])(request)
            return 200, loopback_http.JsonLines(events)
        responder = self.routes.get((request.method, request.path))
        if responder is None:
            return 404, status_body(404, f"{request.method} {request.path} not found")
        return responder(request)


def is_watch(query: dict[str, list[str]]) -> bool:
    """Whether a request with *query* asks to watch (``?watch=true``, as the client sends it)."""
    return [value.lower() for value in query.get("watch", [])] == ["true"]


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
    """Serve *fake* on 127.0.0.1 for the duration of the block; ``fake.url`` is its address."""
    with loopback_http.serve(fake.answer) as url:
        fake.url = url
        yield fake
