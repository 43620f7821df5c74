"""The shared cluster flow against one loopback server that answers as both the Kubernetes API
and the KFP API: waiting on a KFP run ends with a success, a classified failure or a timeout."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient, Configuration

from fixtures.cluster.kfp_api import KfpApi
from fixtures.config import HarnessConfig
from fixtures.ledger import Ledger
from fixtures.phases import PhaseClock
from fixtures.platforms.cluster_base import ClusterRunFailed
from fixtures.platforms.kind import KindPlatform
from tests.fake_apiserver import is_watch, pod_json, pod_list
from tests.loopback_http import JsonLines, Request, serve

RUN = "mnist-e2e-20261125t120000z-abcd"
PODS = "/api/v1/namespaces/kubeflow/pods"
KFP_RUN = "/apis/v2beta1/runs/kfp-1"
Answer = Callable[[dict[str, list[str]]], tuple[int, Any]]


@contextmanager
def api_server(
    routes: dict[str, Answer],
    seen: list[str] | None = None,
    bodies: dict[str, tuple[str, Any]] | None = None,
) -> Iterator[str]:
    """Routes by path (GET) or "METHOD path"; a route answers (status, payload) from the
    query, as tests/loopback_http.py encodes it. Every request goes to *seen* as "METHOD
    path"; request bodies go to *bodies* as (content type, parsed JSON) under "METHOD path"."""

    def answer(request: Request) -> tuple[int, Any]:
        key = f"{request.method} {request.path}"
        if seen is not None:
            seen.append(key)
        if bodies is not None and request.body:
            bodies[key] = (request.headers.get("content-type", ""), json.loads(request.body))
        route = request.path if request.method == "GET" else key
        return routes[route](request.query) if route in routes else (404, {"message": "not found"})

    with serve(answer) as url:
        yield url


def pods_route(listed: list[dict], events: list[dict]) -> Answer:
    def answer(query: dict[str, list[str]]) -> tuple[int, Any]:
        if is_watch(query):
            return 200, JsonLines(events)
        return 200, pod_list(listed, "5")

    return answer


def run_json(state: str, tasks: list[dict]) -> dict:
    return {
        "run_id": "kfp-1",
        "display_name": RUN,
        "state": state,
        "run_details": {"task_details": tasks},
    }


def waiting_platform(tmp_path: Path, host: str, wait_timeout: float) -> KindPlatform:
    config = HarnessConfig(platform="kind", artifacts_dir=tmp_path, wait_timeout=wait_timeout)
    subject = KindPlatform(config, RUN, Ledger(tmp_path / "ledger.jsonl"), PhaseClock())
    subject._api = ApiClient(Configuration(host=host))
    subject.kfp = KfpApi(host, attempts=1)
    subject.kfp_run_id = "kfp-1"
    return subject


def test_a_successful_run_reports_its_steps_and_phase_times(tmp_path: Path) -> None:
    done = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).isoformat()
    tasks = [
        {"display_name": s, "state": "SUCCEEDED", "end_time": done, "pod_name": f"wf-{s}"}
        for s in ("train", "serve", "web-ui")
    ]
    routes = {
        PODS: pods_route([], []),
        KFP_RUN: lambda q: (200, run_json("SUCCEEDED", tasks)),
        f"{PODS}/wf-train/log": lambda q: (200, "loss=0.1\ntest_accuracy=0.9731\n"),
    }
    with api_server(routes) as host:
        subject = waiting_platform(tmp_path, host, 30)
        subject.wait_step().run()
    assert subject.train_accuracy == pytest.approx(0.9731)
    assert subject.verdict is not None and subject.verdict.state == "succeeded"
    assert subject.verdict.finished_steps == ("train", "serve", "web-ui")
    assert subject.clock.names()[:2] == ["train", "serve ready"]


def test_a_failed_step_fails_the_wait_with_its_cause(tmp_path: Path) -> None:
    tasks = [
        {"display_name": "train", "state": "SUCCEEDED", "pod_name": "wf-train"},
        {
            "display_name": "serve",
            "state": "FAILED",
            "error": {"message": "rollout failed (ImagePullBackOff)"},
        },
    ]
    routes = {PODS: pods_route([], []), KFP_RUN: lambda q: (200, run_json("FAILED", tasks))}
    with api_server(routes) as host:
        subject = waiting_platform(tmp_path, host, 30)
        with pytest.raises(ClusterRunFailed) as caught:
            subject.wait_step().run()
    message = str(caught.value)
    assert message.startswith("'KFP run") and "FailedStep: KFP run" in message
    assert "step 'serve'" in message and "rollout failed (ImagePullBackOff)" in message


def test_the_runs_pod_in_image_pull_backoff_fails_it_before_kfp_does(tmp_path: Path) -> None:
    labels = {"workflows.argoproj.io/workflow": "wf"}
    creating = pod_json("train", "kubeflow", labels, "ContainerCreating")
    creating["metadata"]["name"] = "wf-train"
    failing = pod_json("train", "kubeflow", labels, "ImagePullBackOff")
    failing["metadata"]["name"] = "wf-train"
    tasks = [{"display_name": "train", "state": "RUNNING", "pod_name": "wf-train"}]
    routes = {
        PODS: pods_route([creating], [{"type": "MODIFIED", "object": failing}]),
        KFP_RUN: lambda q: (200, run_json("RUNNING", tasks)),
    }
    with api_server(routes) as host:
        subject = waiting_platform(tmp_path, host, 60)
        with pytest.raises(ClusterRunFailed, match="ImagePullBackOff: step 'train'"):
            subject.wait_step().run()


def test_a_run_that_never_finishes_times_out_with_what_was_seen(tmp_path: Path) -> None:
    tasks = [{"display_name": "train", "state": "RUNNING", "pod_name": "wf-train"}]
    routes = {PODS: pods_route([], []), KFP_RUN: lambda q: (200, run_json("RUNNING", tasks))}
    with api_server(routes) as host:
        subject = waiting_platform(tmp_path, host, 2)
        with pytest.raises(ClusterRunFailed) as caught:
            subject.wait_step().run()
    assert str(caught.value).startswith("Timeout: KFP run")
    assert "running train" in str(caught.value)
    assert subject.verdict is not None and subject.verdict.reason == "Timeout"


def test_kindnet_cpu_limit_is_removed_with_a_json_patch(tmp_path: Path) -> None:
    path = "/apis/apps/v1/namespaces/kube-system/daemonsets/kindnet"
    container = {
        "name": "kindnet-cni",
        "image": "docker.io/kindest/kindnetd:v2025",
        "resources": {"limits": {"cpu": "100m", "memory": "50Mi"}},
    }
    daemonset = {
        "metadata": {"name": "kindnet", "namespace": "kube-system"},
        "spec": {
            "selector": {"matchLabels": {"app": "kindnet"}},
            "template": {"spec": {"containers": [container]}},
        },
    }
    bodies: dict[str, tuple[str, Any]] = {}
    routes = {path: lambda q: (200, daemonset), f"PATCH {path}": lambda q: (200, daemonset)}
    with api_server(routes, bodies=bodies) as host:
        subject = waiting_platform(tmp_path, host, 30)
        subject._remove_kindnet_cpu_limit()
    content_type, patch = bodies[f"PATCH {path}"]
    assert content_type == "application/json-patch+json"
    assert patch == [
        {"op": "remove", "path": "/spec/template/spec/containers/0/resources/limits/cpu"}
    ]


@pytest.mark.parametrize("cls_name", ["kind", "gke"])
def test_compiled_pipeline_is_submitted_with_parameters_it_declares(
    tmp_path: Path, cls_name: str
) -> None:
    from fixtures.platforms import get_platform

    options = {"kube_context": "ctx", "gcp_project": "proj", "registry": "r.example/x"}
    config = HarnessConfig(platform=cls_name, artifacts_dir=tmp_path, **options)
    subject = get_platform(cls_name)(config, RUN, Ledger(tmp_path / "ledger.jsonl"), PhaseClock())
    subject.image = "r.example/x/mnist-e2e:0123456789ab"
    bodies: dict[str, tuple[str, Any]] = {}
    routes = {
        "POST /apis/v2beta1/experiments": lambda q: (
            200,
            {"experiment_id": "e-1", "display_name": RUN},
        ),
        "POST /apis/v2beta1/runs": lambda q: (200, {"run_id": "r-1", "display_name": RUN}),
    }
    with api_server(routes, bodies=bodies) as host:
        subject.compile_step().run()
        subject.kfp = KfpApi(host, attempts=1)
        subject.submit_step().run()
    _, body = bodies["POST /apis/v2beta1/runs"]
    # With a platform spec (on-prem PVC mounts) the body nests both, as kfp.Client sends it.
    spec = body["pipeline_spec"].get("pipeline_spec", body["pipeline_spec"])
    declared = spec["root"]["inputDefinitions"]["parameters"]
    passed = body["runtime_config"]["parameters"]
    assert set(passed) <= set(declared), f"not pipeline inputs: {set(passed) - set(declared)}"
    assert passed["namespace"] == RUN and passed["image"] == subject.image
    assert body["experiment_id"] == "e-1"
    recorded = [(r.kind, r.details["id"]) for r in subject.ledger.resources()]
    assert recorded == [("kfp-experiment", "e-1"), ("kfp-run", "r-1")]
    assert subject.ledger.resources()[1].details["endpoint"]["context"] == "ctx"
