"""The KFP API as the harness uses it: marked experiments and runs, the run body built from
the compiled pipeline, and every call bounded in time — against a real HTTP server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.cluster import kfp_api
from fixtures.cluster.kfp_api import KfpApi, KfpEndpoint
from kubekit.exceptions import ActionFailed, Forbidden, NotFound
from pipeline.compile import compile_pipeline
from tests.loopback_http import Request, serve

RUN = "mnist-e2e-20261125t120000z-abcd"


def test_marker_round_trips_and_rejects_foreign_descriptions() -> None:
    assert kfp_api.marked_run_id(kfp_api.marker(RUN)) == RUN
    assert (
        kfp_api.marked_run_id("app.kubernetes.io/managed-by=someone-else mnist-e2e/run-id=x")
        is None
    )
    assert kfp_api.marked_run_id(None) is None
    assert kfp_api.marked_run_id("a training run") is None


def test_endpoint_round_trips_through_the_ledger_without_secrets() -> None:
    endpoint = KfpEndpoint(context="kind-mnist-e2e", kubeconfig="/k")
    assert KfpEndpoint.from_dict(json.loads(json.dumps(endpoint.to_dict()))) == endpoint
    assert "token" not in json.dumps(KfpEndpoint(url="https://kfp.example").to_dict()).lower()


def test_display_name_filter_is_kfps_filter_json() -> None:
    predicate = json.loads(kfp_api.display_name_filter(RUN))["predicates"][0]
    assert predicate == {"key": "display_name", "operation": "EQUALS", "string_value": RUN}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The on-prem pipeline, compiled by the project's compile function."""
    return compile_pipeline("onprem", tmp_path_factory.mktemp("p") / "p.yaml", "mnist-e2e:abc")


def test_run_body_carries_pipeline_and_platform_spec(compiled: Path) -> None:
    body = kfp_api.pipeline_spec_from_yaml(compiled.read_text())
    assert body["pipeline_spec"]["pipelineInfo"]["name"] == "mnist-e2e-onprem"
    assert "kubernetes" in json.dumps(body["platform_spec"])  # the PVC mounts


def test_malformed_pipeline_fails_before_the_server() -> None:
    with pytest.raises(ValueError, match="no YAML document"):
        kfp_api.pipeline_spec_from_yaml("")


class KfpStub:
    """A KFP API answering from a table (served by the ``stub`` fixture); records requests."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.answers: dict[tuple[str, str], list[tuple[int, Any]]] = {}

    def on(self, method: str, path: str, *answers: tuple[int, Any]) -> None:
        self.answers[(method, path)] = list(answers)

    def answer(self, request: Request) -> tuple[int, Any]:
        """Record *request*; answer the next of its route's answers, repeating the last one."""
        body = json.loads(request.body) if request.body else None
        self.requests.append((request.method, request.path, body))
        queue = self.answers.get((request.method, request.path), [(404, {"error": "not found"})])
        return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def stub() -> Iterator[tuple[KfpStub, str]]:
    """A KfpStub served on loopback, and its URL.

    Teardown stops the server.
    """
    state = KfpStub()
    with serve(state.answer) as url:
        yield state, url


def test_create_run_retries_a_5xx_and_reuses_a_run_that_was_created(stub, compiled: Path) -> None:
    state, host = stub
    run = {"run_id": "r-1", "display_name": RUN, "state": "PENDING"}
    state.on("POST", "/apis/v2beta1/runs", (503, {"error": "unavailable"}))
    state.on("GET", "/apis/v2beta1/runs", (200, {"runs": [run]}))
    api = KfpApi(host, attempts=3)
    try:
        created = api.create_run(
            "e-1", RUN, kfp_api.pipeline_spec_from_yaml(compiled.read_text()), {"namespace": RUN}
        )
    finally:
        api.close()
    assert created.run_id == "r-1"
    posts = [r for r in state.requests if r[0] == "POST"]
    assert len(posts) == 1  # the retry looked first, found the run, did not create a second
    body = posts[0][2]
    assert body["display_name"] == RUN and kfp_api.marked_run_id(body["description"]) == RUN
    assert body["runtime_config"]["parameters"] == {"namespace": RUN}


def test_create_experiment_is_marked_and_a_403_is_not_retried(stub) -> None:
    state, host = stub
    state.on("POST", "/apis/v2beta1/experiments", (403, {"error": "forbidden"}))
    api = KfpApi(host, attempts=3)
    try:
        with pytest.raises(Forbidden, match="not retryable"):
            api.create_experiment(RUN)
    finally:
        api.close()
    posts = [r for r in state.requests if r[0] == "POST"]
    assert len(posts) == 1
    assert kfp_api.marked_run_id(posts[0][2]["description"]) == RUN


def test_not_found_comes_out_typed(stub) -> None:
    _state, host = stub
    api = KfpApi(host, attempts=1)
    try:
        with pytest.raises(NotFound) as caught:
            api.get_run("gone")
    finally:
        api.close()
    assert kfp_api.is_not_found(caught.value)
    assert isinstance(caught.value, ActionFailed) and "get KFP run gone" in str(caught.value)
