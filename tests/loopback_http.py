"""Moved to tests/support/loopback_http.py, with the rest of the tests' shared helpers.

This name stays only for tests/fake_apiserver.py, which no test imports any more; delete it
with that file.
"""

from tests.support.loopback_http import Answer, JsonLines, Request, Responder, encode, serve

__all__ = ["Answer", "JsonLines", "Request", "Responder", "encode", "serve"]
