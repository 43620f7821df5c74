"""The KFP API as the harness uses it: marked experiments and runs, the run body built from
the compiled pipeline, and every call bounded in time — against the KFP API stand-in
(tests/support/kfp_stand_in.py): its faults (a 5xx once, a 403, a create whose answer was
lost after it took effect) are what a real KFP cannot be made to give on demand. The real
KFP 2.17.0 answers the same calls on the cluster tier (cluster_tests/)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.created.clients import Clients
from fixtures.created.kfp_resources import KfpRun
from fixtures.kfp import kfp_api
from fixtures.kfp.kfp_api import KfpApi, KfpEndpoint
from kubekit.exceptions import ActionFailed, Forbidden, NotFound, is_not_found
from pipeline.compile import compile_pipeline
from tests.support.kfp_stand_in import KfpStandIn, run_state, serving

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


@pytest.fixture
def stand_in() -> Iterator[tuple[KfpStandIn, str]]:
    """The KFP API stand-in (tests/support/kfp_stand_in.py: it injects faults) on
    loopback, and its URL. Teardown stops the server."""
    with serving() as served:
        yield served


RUNS = "/apis/v2beta1/runs"
EXPERIMENTS = "/apis/v2beta1/experiments"


def test_create_run_retries_a_5xx_and_reuses_a_run_that_was_created(
    stand_in: tuple[KfpStandIn, str], compiled: Path
) -> None:
    state, host = stand_in
    experiment = state.add_experiment(RUN)
    # The server created the run but the answer was a 503 (a gateway that timed out).
    state.fail_once("POST", RUNS, 503, after=True)
    api = KfpApi(host, attempts=3)
    try:
        created = api.create_run(
            experiment,
            RUN,
            kfp_api.pipeline_spec_from_yaml(compiled.read_text()),
            {"namespace": RUN},
        )
    finally:
        api.close()
    assert list(state.runs) == [created.run_id]
    posts = state.calls("POST", RUNS)
    assert len(posts) == 1  # the retry looked first, found the run, did not create a second
    body = posts[0].body
    assert body["display_name"] == RUN and kfp_api.marked_run_id(body["description"]) == RUN
    assert body["runtime_config"]["parameters"] == {"namespace": RUN}


def test_create_run_after_a_5xx_that_created_nothing_creates_it_once(
    stand_in: tuple[KfpStandIn, str], compiled: Path
) -> None:
    state, host = stand_in
    experiment = state.add_experiment(RUN)
    state.fail_once("POST", RUNS, 503)
    api = KfpApi(host, attempts=3)
    try:
        created = api.create_run(
            experiment, RUN, kfp_api.pipeline_spec_from_yaml(compiled.read_text()), {}
        )
    finally:
        api.close()
    assert len(state.calls("POST", RUNS)) == 2 and list(state.runs) == [created.run_id]


def test_create_experiment_is_marked_and_a_403_is_not_retried(
    stand_in: tuple[KfpStandIn, str],
) -> None:
    state, host = stand_in
    state.fail_once("POST", EXPERIMENTS, 403)
    api = KfpApi(host, attempts=3)
    try:
        with pytest.raises(Forbidden, match="not retryable"):
            api.create_experiment(RUN)
    finally:
        api.close()
    posts = state.calls("POST", EXPERIMENTS)
    assert len(posts) == 1
    assert kfp_api.marked_run_id(posts[0].body["description"]) == RUN
    assert state.experiments == {}


def test_not_found_comes_out_typed(stand_in: tuple[KfpStandIn, str]) -> None:
    _state, host = stand_in
    api = KfpApi(host, attempts=1)
    try:
        with pytest.raises(NotFound) as caught:
            api.get_run("gone")
    finally:
        api.close()
    assert is_not_found(caught.value)
    assert isinstance(caught.value, ActionFailed) and "get KFP run gone" in str(caught.value)


def test_lists_follow_pages_and_terminate_then_delete_leave_nothing(
    stand_in: tuple[KfpStandIn, str],
) -> None:
    state, host = stand_in
    experiment = state.add_experiment(RUN, description=kfp_api.marker(RUN))
    # 150 runs: more than one page of the 100 KfpApi asks for.
    ids = [
        state.add_run(f"{RUN}-{n}", run_state("RUNNING"), experiment_id=experiment)
        for n in range(150)
    ]
    api = KfpApi(host, attempts=1)
    try:
        api.healthz()
        assert [r.run_id for r in api.list_runs(experiment)] == ids
        assert [r.run_id for r in api.find_runs(experiment, f"{RUN}-7")] == [ids[7]]
        assert [e.experiment_id for e in api.list_experiments()] == [experiment]
        api.terminate_run(ids[0])
        assert api.get_run(ids[0]).state == "CANCELED"
        api.delete_run(ids[0])
        api.delete_experiment(experiment)
        with pytest.raises(NotFound):
            api.get_experiment(experiment)
    finally:
        api.close()
    assert ids[0] not in state.runs and state.experiments == {}
    pages = [r.query.get("page_token", [""])[0] for r in state.calls("GET", RUNS)]
    assert pages[:2] == ["", "100"]


def test_a_run_kfp_will_not_terminate_is_still_deleted(
    stand_in: tuple[KfpStandIn, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 400 is injected: the real KFP 2.17 answered it on the cluster tier to a terminate
    of a run already being canceled, a moment no test can hit on demand."""
    state, host = stand_in
    monkeypatch.setenv(kfp_api.TOKEN_ENV, "any")  # an external endpoint's auth
    kfp_run = state.add_run(RUN, run_state("RUNNING"))
    state.fail_once("POST", f"{RUNS}/{kfp_run}:terminate", 400)
    endpoint = KfpEndpoint(url=host).to_dict()
    with Clients() as clients:
        line = KfpRun(KfpRun.entry(RUN, id=kfp_run, endpoint=endpoint)).delete(clients)
    assert kfp_run not in state.runs
    assert "deleted (was RUNNING; KFP would not terminate it" in line, line
