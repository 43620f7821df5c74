"""Failure diagnostics: pods, events, logs (previous ones too) and the classified cause, found
from the ledger and written redacted to artifacts/<run-id>/diagnostics/."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from kubernetes.client import CoreV1Event, V1ObjectMeta, V1ObjectReference

from fixtures.cluster import diagnostics
from fixtures.ledger import Resource
from tests.fake_apiserver import pod_json, pod_list
from tests.test_cluster_platform import api_server

RUN = "mnist-e2e-20261125t120000z-abcd"


def event(reason: str, message: str, minute: int, count: int = 1) -> CoreV1Event:
    return CoreV1Event(
        metadata=V1ObjectMeta(name=f"e{minute}"),
        involved_object=V1ObjectReference(kind="Pod", name="tf-serving-1-x"),
        reason=reason,
        message=message,
        type="Warning",
        count=count,
        last_timestamp=datetime(2026, 11, 25, 12, minute, tzinfo=UTC),
    )


def test_events_read_oldest_first_with_counts() -> None:
    lines = diagnostics.event_lines(
        [event("BackOff", "Back-off pulling", 5, 4), event("Failed", "ErrImagePull", 1)]
    )
    assert lines[0].endswith("Pod/tf-serving-1-x Failed: ErrImagePull")
    assert lines[1].endswith("BackOff: Back-off pulling (x4)")


def test_collect_writes_pods_events_logs_and_the_cause_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # no kubectl: describe is skipped
    pod = pod_json("tf-serving", RUN, {}, "CrashLoopBackOff")
    pod["spec"] = {"containers": [{"name": "tf-serving", "image": "tensorflow/serving:2.20.0"}]}
    pod["status"]["containerStatuses"][0]["restartCount"] = 3
    events = {
        "metadata": {"resourceVersion": "1"},
        "items": [
            {
                "metadata": {"name": "e"},
                "involvedObject": {"kind": "Pod", "name": pod["metadata"]["name"]},
                "reason": "BackOff",
                "message": "Back-off restarting failed container",
                "type": "Warning",
            }
        ],
    }
    log_path = f"/api/v1/namespaces/{RUN}/pods/{pod['metadata']['name']}/log"
    routes = {
        f"/api/v1/namespaces/{RUN}/pods": lambda q: (200, pod_list([pod])),
        f"/api/v1/namespaces/{RUN}/events": lambda q: (200, events),
        log_path: lambda q: (
            200,
            "previous run: Authorization: Bearer sekret-token"
            if q.get("previous") == ["True"]
            else "current run",
        ),
    }
    with api_server(routes) as host:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "clusters": [{"name": "c", "cluster": {"server": host}}],
                    "users": [{"name": "u", "user": {}}],
                    "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
                }
            )
        )
        ledger = [Resource("namespace", RUN, {"context": "ctx", "kubeconfig": str(kubeconfig)})]
        written = diagnostics.collect(ledger, tmp_path / "diagnostics")
    names = {p.relative_to(tmp_path / "diagnostics").as_posix() for p in written}
    pod_dir = f"{RUN}/logs/{pod['metadata']['name']}"
    assert {
        f"{RUN}/pods.json",
        f"{RUN}/events.txt",
        f"{pod_dir}/tf-serving.log",
        f"{pod_dir}/tf-serving.previous.log",
        "failure.txt",
        "ledger.json",
    } <= names
    previous = (tmp_path / "diagnostics" / pod_dir / "tf-serving.previous.log").read_text()
    assert "sekret-token" not in previous and "[REDACTED]" in previous
    failure = (tmp_path / "diagnostics" / "failure.txt").read_text()
    assert failure.startswith("CrashLoopBackOff: ")
    assert (
        "Back-off restarting failed container"
        in (tmp_path / "diagnostics" / RUN / "events.txt").read_text()
    )


def test_collect_without_any_cluster_still_writes_what_it_knows(tmp_path: Path) -> None:
    written = diagnostics.collect([Resource("tempdir", "/tmp/x", {"path": "/tmp/x"})], tmp_path)
    assert {p.name for p in written} == {"ledger.json", "failure.txt"}
    assert "no failing pod" in (tmp_path / "failure.txt").read_text()


def test_kfp_run_details_and_only_that_runs_pods_are_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    monkeypatch.setenv("MNIST_E2E_KFP_TOKEN", "kfp-bearer-secret")
    mine = pod_json("train", "kubeflow", {"workflows.argoproj.io/workflow": "wf-1"}, "ErrImagePull")
    mine["metadata"]["name"] = "wf-1-train"
    theirs = pod_json("train", "kubeflow", {"workflows.argoproj.io/workflow": "wf-2"}, None)
    theirs["metadata"]["name"] = "wf-2-train"
    for pod in (mine, theirs):
        pod["spec"] = {"containers": [{"name": "train", "image": "mnist-e2e:1"}]}
    run = {
        "run_id": "kfp-1",
        "display_name": RUN,
        "state": "RUNNING",
        "run_details": {
            "task_details": [
                {"display_name": "train", "state": "RUNNING", "pod_name": "wf-1-train"}
            ]
        },
    }
    routes = {
        "/apis/v2beta1/runs/kfp-1": lambda q: (200, run),
        "/api/v1/namespaces/kubeflow/pods": lambda q: (200, pod_list([mine, theirs])),
        "/api/v1/namespaces/kubeflow/events": lambda q: (200, {"metadata": {}, "items": []}),
        "/api/v1/namespaces/kubeflow/pods/wf-1-train/log": lambda q: (200, "pulling"),
    }
    with api_server(routes) as host:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "clusters": [{"name": "c", "cluster": {"server": host}}],
                    "users": [{"name": "u", "user": {}}],
                    "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
                }
            )
        )
        endpoint = {
            "url": host,
            "context": "ctx",
            "kubeconfig": str(kubeconfig),
            "namespace": "kubeflow",
        }
        ledger = [Resource("kfp-run", RUN, {"id": "kfp-1", "endpoint": endpoint})]
        written = diagnostics.collect(ledger, tmp_path / "d")
    names = {p.relative_to(tmp_path / "d").as_posix() for p in written}
    assert "kfp-run-pods/logs/wf-1-train/train.log" in names
    assert not any("wf-2-train" in name for name in names)
    details = (tmp_path / "d" / "kfp-run.json").read_text()
    assert '"run_id": "kfp-1"' in details and "kfp-bearer-secret" not in details
    assert (tmp_path / "d" / "failure.txt").read_text().startswith("ErrImagePull: step 'train'")
