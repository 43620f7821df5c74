"""Moved to tests/support/loopback_http.py, with the rest of the tests' shared helpers.

This name stays only for the Kubernetes, KFP and deploy doubles being rewritten elsewhere
(tests/fake_apiserver.py, test_cluster_objects.py, test_pipeline_deploy_probe.py); delete it
once they import
``tests.support.loopback_http``.
"""

from tests.support.loopback_http import Answer, JsonLines, Request, Responder, encode, serve

__all__ = ["Answer", "JsonLines", "Request", "Responder", "encode", "serve"]
