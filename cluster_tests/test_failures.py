"""Failure classification and diagnostics on really broken workloads: an image that is not
on the node, a container that exits, a pod no node can take."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from fixtures.created.kube_resources import CreatedObject
from fixtures.platforms import diagnostics
from fixtures.platforms.kind import KindPlatform
from kubekit.constants import run_labels
from kubekit.wait import until
from pipeline.deploy import rollout
from pipeline.deploy.rollout_watch import RolloutFailed, RolloutTimeout, wait_for_rollout

CRASH_LINE = "mnist-e2e crash probe: the last thing it said"


def broken_deployment(run: KindPlatform, name: str, container: dict[str, Any]) -> dict[str, Any]:
    labels = {**run_labels(run.run_id), "app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": run.namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                    "containers": [
                        {
                            "name": name,
                            # as the project's manifests do: Ready only once a probe passed,
                            # so a container that exits at once is never counted available
                            "readinessProbe": {
                                "exec": {"command": ["true"]},
                                "initialDelaySeconds": 5,
                            },
                            **container,
                        }
                    ],
                },
            },
        },
    }


@pytest.fixture(scope="module")
def broken(run: KindPlatform) -> dict[str, str]:
    """Three Deployments that cannot become ready, in the run's namespace (its teardown
    deletes them with it)."""
    deployments = {
        "missing-image": {"image": "mnist-e2e/not-built-anywhere:0", "imagePullPolicy": "Never"},
        "crashing": {
            "image": run.image,
            "imagePullPolicy": "Never",
            "command": ["python", "-c", f"print({CRASH_LINE!r}, flush=True); raise SystemExit(3)"],
            "terminationMessagePolicy": "FallbackToLogsOnError",  # as the manifests set it
        },
        "unschedulable": {
            "image": run.image,
            "imagePullPolicy": "Never",
            "resources": {"requests": {"cpu": "64"}},
        },
    }
    CreatedObject.apply_all(
        run.api(),
        [broken_deployment(run, name, spec) for name, spec in deployments.items()],
        ledger=run.ledger,
        context=run.context,
        kubeconfig=run.kubeconfig,
    )
    return {name: name for name in deployments}


def _rollout(run: KindPlatform, name: str, seconds: float = 180) -> rollout.RolloutStatus:
    """The rollout's final status, failed or not (the wait raises with it on failure)."""
    try:
        return wait_for_rollout(run.api(), run.namespace, name, timeout=seconds)
    except (RolloutFailed, RolloutTimeout) as exc:
        return exc.status


def test_an_image_not_on_the_node_fails_the_rollout_naming_it(
    run: KindPlatform, broken: dict[str, str]
) -> None:
    status = _rollout(run, "missing-image")
    assert status.state is rollout.State.FAILED, status
    assert status.reason == "ErrImageNeverPull", status
    assert "mnist-e2e/not-built-anywhere:0" in status.message and "kind load" in status.message


def test_a_container_that_exits_is_a_crash_loop_with_its_last_log_line(
    run: KindPlatform, broken: dict[str, str]
) -> None:
    status = _rollout(run, "crashing")
    assert status.state is rollout.State.FAILED, status
    assert status.reason == "CrashLoopBackOff", status
    assert "exit code 3" in status.message or "exited with 3" in status.message, status.message
    assert CRASH_LINE in status.message, f"the last log line is not in: {status.message}"


def test_a_pod_no_node_can_take_is_unschedulable_after_the_grace(
    run: KindPlatform, broken: dict[str, str]
) -> None:
    core = k8s.CoreV1Api(run.api())

    def pending_pods() -> list[k8s.V1Pod]:
        pods = core.list_namespaced_pod(
            run.namespace, label_selector="app.kubernetes.io/name=unschedulable"
        ).items
        return [
            p for p in pods if any(c.reason == "Unschedulable" for c in p.status.conditions or [])
        ]

    until("the scheduler to refuse the 64-CPU pod", pending_pods, timeout=120)
    pods = pending_pods()
    created = pods[0].metadata.creation_timestamp
    assert rollout.pod_failure(pods, created + timedelta(seconds=5)) is None, (
        "failed before the grace"
    )
    found = rollout.pod_failure(pods, created + rollout.UNSCHEDULABLE_GRACE + timedelta(seconds=1))
    assert found is not None and found[0] == "Unschedulable", found
    assert "cpu" in found[1].lower(), found


def test_diagnostics_are_written_from_the_real_pods_events_and_logs(
    run: KindPlatform, broken: dict[str, str], tmp_path: Path
) -> None:
    until(
        "the crashing pod to have restarted",
        lambda: "CrashLoopBackOff" in _rollout(run, "crashing", 60).reason,
        timeout=120,
    )
    writer = diagnostics.Writer(tmp_path)
    pods = diagnostics.collect_namespace(writer, run.api(), run.context, run.namespace)
    names = {p.metadata.name.rsplit("-", 2)[0] for p in pods}
    assert {"missing-image", "crashing", "unschedulable"} <= names, names
    events = (tmp_path / run.namespace / "events.txt").read_text()
    assert "ErrImageNeverPull" in events and "FailedScheduling" in events, events[-2000:]
    logs = list((tmp_path / run.namespace / "logs").rglob("*.log"))
    assert any(CRASH_LINE in log.read_text() for log in logs), [str(p) for p in logs]
