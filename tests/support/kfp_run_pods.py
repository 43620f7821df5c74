"""Real pods shaped like a KFP run's, for the cluster tier: the labels KFP and Argo put on a
run's pods (what fixtures/kfp/classify.py reads), the project image, and waits on what a
pod's status shows. Not a double: the pods run in the tier's kind cluster.

Every pod is applied with :meth:`fixtures.created.kube_resources.KubeObject.apply_all` into
the ledger it is given, so the run's teardown deletes it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from kubernetes.client import V1ContainerStatus, V1Pod

from fixtures.created.kube_resources import CreatedObject
from fixtures.platforms.kind import KindPlatform
from kubekit.constants import KFP_RUN_LABEL, WORKFLOW_LABEL, run_labels
from kubekit.exceptions import NotReady
from kubekit.objects import Pod
from kubekit.wait import wait_until

TASK_LABEL: Final = "pipelines.kubeflow.org/task_name"  # one of the keys classify reads
NOT_ON_THE_NODE: Final = "mnist-e2e/not-built-anywhere:0"  # with Never: ErrImageNeverPull


def workflow_name(prefix: str) -> str:
    """An Argo workflow name of its own, so one test's pods are never another's."""
    return f"tier-{prefix}-{secrets.token_hex(3)}"


def run_pod(
    platform: KindPlatform,
    *,
    name: str,
    namespace: str,
    workflow: str,
    task: str,
    command: Sequence[str] = ("sh", "-c", "true"),
    image: str | None = None,
    kfp_run_id: str | None = None,
    restart_policy: str = "Never",
    container: str = "main",
) -> dict[str, Any]:
    """A pod as KFP runs a task: workflow and task labels (and ``pipeline/runid`` when given),
    the harness's labels, the project image (or *image*) with ``imagePullPolicy: Never``."""
    labels = {**run_labels(platform.run_id), WORKFLOW_LABEL: workflow, TASK_LABEL: task}
    if kfp_run_id:
        labels[KFP_RUN_LABEL] = kfp_run_id
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "restartPolicy": restart_policy,
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 1,  # sh ignores SIGTERM: teardown need not wait
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
            "containers": [
                {
                    "name": container,
                    "image": image or platform.image,
                    "imagePullPolicy": "Never",  # air-gapped: what is not on the node fails
                    "command": list(command),
                }
            ],
        },
    }


def apply(platform: KindPlatform, bodies: Sequence[Mapping[str, Any]]) -> None:
    """Apply *bodies* into the cluster, each recorded in *platform*'s ledger first."""
    CreatedObject.apply_all(
        platform.api(),
        bodies,
        ledger=platform.ledger,
        context=platform.context,
        kubeconfig=platform.kubeconfig,
    )


def wait_for_pod(
    platform: KindPlatform,
    name: str,
    namespace: str,
    what: str,
    holds: Callable[[V1Pod], bool],
    *,
    timeout: float = 180,
) -> V1Pod:
    """The pod once ``holds(pod)``; a timeout names *what* was awaited and the pod's status."""

    def check() -> V1Pod:
        pod = Pod(platform.api(), name, namespace).read()
        if not holds(pod):
            raise NotReady(f"pod {namespace}/{name}: {pod.status}")
        return pod

    return wait_until(f"pod {name} {what}", check, timeout=timeout, max_interval=1.0)


def containers(pod: V1Pod) -> list[V1ContainerStatus]:
    return list((pod.status.container_statuses if pod.status else None) or [])


def waiting_reason(pod: V1Pod) -> str | None:
    """The first container's waiting reason (ErrImageNeverPull, CrashLoopBackOff, …)."""
    for status in containers(pod):
        if status.state and status.state.waiting:
            return status.state.waiting.reason
    return None


def phase_is(*phases: str) -> Callable[[V1Pod], bool]:
    return lambda pod: bool(pod.status) and pod.status.phase in phases
