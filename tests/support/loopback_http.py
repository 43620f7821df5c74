"""Serve a responder function over real HTTP on a loopback port, for tests that need a server.

The code under test talks to it with its real client (urllib, the ``kubernetes`` client, the
KFP client); the test writes only what the server answers::

    def answer(request: Request) -> tuple[int, Any]:
        return 200, {"path": request.path}

    with serve(answer) as url:
        ...  # http://127.0.0.1:<port>
"""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    """One request as the responder sees it."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]  # as urllib.parse.parse_qs gives it
    headers: dict[str, str]  # keys lower-cased
    body: bytes


@dataclass(frozen=True)
class JsonLines:
    """Objects to stream as newline-delimited JSON, as a Kubernetes watch sends its events."""

    items: Sequence[Any]


# What a responder returns: (status, payload) or (status, payload, content type). A bytes
# payload goes out as is (application/octet-stream unless a content type is given); JsonLines
# goes out one JSON document a line; anything else is JSON-encoded (application/json).
Answer = tuple[int, Any] | tuple[int, Any, str]
Responder = Callable[[Request], Answer]


def encode(answer: Answer) -> tuple[int, bytes, str]:
    """The status, body bytes and content type that *answer* puts on the wire."""
    status, payload, *given = answer
    if isinstance(payload, bytes):
        body, content_type = payload, "application/octet-stream"
    elif isinstance(payload, JsonLines):
        body = b"".join(json.dumps(item).encode() + b"\n" for item in payload.items)
        content_type = "application/json"
    else:
        body, content_type = json.dumps(payload).encode(), "application/json"
    return status, body, given[0] if given else content_type


class _Server(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 at a free port that answers with *responder*."""

    daemon_threads = True  # a stuck request must not hold up the test run's exit

    def __init__(self, responder: Responder) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.responder = responder


class _Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        try:
            status, body, content_type = encode(cast(_Server, self.server).responder(request))
        except Exception:
            # A bug in the test's responder reaches the test as a 500 carrying the traceback,
            # not as a dropped connection that the client retries.
            status, body = 500, traceback.format_exc().encode()
            content_type = "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet


@contextmanager
def serve(responder: Responder) -> Iterator[str]:
    """Serve *responder* on 127.0.0.1 at a free port; give its base URL ``http://127.0.0.1:N``.

    Exit shuts the server down, closes its socket and joins its thread.
    """
    server = _Server(responder)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"loopback-http-{server.server_port}",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
