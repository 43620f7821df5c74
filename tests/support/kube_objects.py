"""Kubernetes objects as the API returns them, built in tests: the client's typed models
(V1Deployment, V1Pod, …), for the pure decisions that read them (rollout status, failure
classification, diagnostics, the watch wait). One place for the builders, so tests describe
states, not JSON.

Defaults make a one-replica Deployment ``tf-serving`` in ``run-ns`` at revision 2 whose
ReplicaSet ``rs-new`` owns the pods; :func:`from_api_json` and :func:`api_json` convert
through the client's own (de)serializer, for the shapes the API server really sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from kubernetes.client import (
    ApiClient,
    CoreV1Event,
    V1Container,
    V1ContainerState,
    V1ContainerStateRunning,
    V1ContainerStateTerminated,
    V1ContainerStateWaiting,
    V1ContainerStatus,
    V1Deployment,
    V1DeploymentCondition,
    V1DeploymentSpec,
    V1DeploymentStatus,
    V1LabelSelector,
    V1ObjectMeta,
    V1ObjectReference,
    V1OwnerReference,
    V1Pod,
    V1PodCondition,
    V1PodSpec,
    V1PodStatus,
    V1PodTemplateSpec,
    V1ReplicaSet,
)

from pipeline.deploy.rollout import REVISION_ANNOTATION

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
NAMESPACE = "run-ns"
NAME = "tf-serving"
LABELS = {"app.kubernetes.io/name": NAME}


def deployment(
    *,
    name: str = NAME,
    namespace: str = NAMESPACE,
    generation: int = 2,
    observed: int = 2,
    replicas: int = 1,
    updated: int = 1,
    total: int = 1,
    available: int = 1,
    revision: str = "2",
    conditions: Iterable[V1DeploymentCondition] = (),
    image: str = "tf:1",
) -> V1Deployment:
    """A Deployment of *image* with its status: *updated*, *total* and *available* replicas."""
    return V1Deployment(
        metadata=V1ObjectMeta(
            name=name,
            namespace=namespace,
            uid="dep-uid",
            generation=generation,
            annotations={REVISION_ANNOTATION: revision},
        ),
        spec=V1DeploymentSpec(
            replicas=replicas,
            progress_deadline_seconds=300,
            selector=V1LabelSelector(match_labels=LABELS),
            template=V1PodTemplateSpec(
                metadata=V1ObjectMeta(labels=LABELS),
                spec=V1PodSpec(containers=[V1Container(name=name, image=image)]),
            ),
        ),
        status=V1DeploymentStatus(
            observed_generation=observed,
            replicas=total,
            updated_replicas=updated,
            available_replicas=available,
            conditions=list(conditions),
        ),
    )


def replica_set(revision: str, uid: str, *, owner_uid: str = "dep-uid") -> V1ReplicaSet:
    """A ReplicaSet of the Deployment (controller *owner_uid*) at *revision*."""
    return V1ReplicaSet(
        metadata=V1ObjectMeta(
            name=f"{NAME}-{uid}",
            namespace=NAMESPACE,
            uid=uid,
            annotations={REVISION_ANNOTATION: revision},
            owner_references=[
                V1OwnerReference(
                    api_version="apps/v1",
                    kind="Deployment",
                    name=NAME,
                    uid=owner_uid,
                    controller=True,
                )
            ],
        )
    )


RS_OLD = replica_set("1", "rs-old")
RS_NEW = replica_set("2", "rs-new")


def pod(
    name: str,
    *,
    owner: str | None = "rs-new",
    namespace: str = NAMESPACE,
    labels: Mapping[str, str] = LABELS,
    phase: str = "Pending",
    containers: Iterable[V1ContainerStatus] = (),
    conditions: Iterable[V1PodCondition] = (),
    deleting: bool = False,
) -> V1Pod:
    """A pod of ReplicaSet *owner* (None: of no controller, like a workflow's step pod) with
    *containers*' statuses; its spec names the same containers and images."""
    owners = (
        [
            V1OwnerReference(
                api_version="apps/v1", kind="ReplicaSet", name=owner, uid=owner, controller=True
            )
        ]
        if owner
        else None
    )
    statuses = list(containers)
    return V1Pod(
        metadata=V1ObjectMeta(
            name=name,
            namespace=namespace,
            uid=f"{name}-uid",
            labels=dict(labels),
            deletion_timestamp=NOW if deleting else None,
            owner_references=owners,
        ),
        spec=V1PodSpec(containers=[V1Container(name=c.name, image=c.image) for c in statuses]),
        status=V1PodStatus(phase=phase, container_statuses=statuses, conditions=list(conditions)),
    )


def waiting(
    reason: str,
    message: str = "",
    restarts: int = 0,
    last_exit: V1ContainerStateTerminated | None = None,
    name: str = NAME,
    image: str = "tf:1",
) -> V1ContainerStatus:
    """A container waiting for *reason* (after *last_exit*, if it ran before)."""
    return V1ContainerStatus(
        name=name,
        image=image,
        image_id="",
        ready=False,
        restart_count=restarts,
        state=V1ContainerState(waiting=V1ContainerStateWaiting(reason=reason, message=message)),
        last_state=V1ContainerState(terminated=last_exit) if last_exit else None,
    )


def running(
    ready: bool = True, name: str = NAME, image: str = "tf:1", restarts: int = 0
) -> V1ContainerStatus:
    """A running container, ready or not."""
    return V1ContainerStatus(
        name=name,
        image=image,
        image_id="",
        ready=ready,
        restart_count=restarts,
        state=V1ContainerState(running=V1ContainerStateRunning(started_at=NOW)),
    )


def unschedulable(
    since: datetime, message: str = "0/1 nodes are available: 1 Insufficient memory."
) -> V1PodCondition:
    """The scheduler's verdict on a pod no node can take, since *since*."""
    return V1PodCondition(
        type="PodScheduled",
        status="False",
        reason="Unschedulable",
        message=message,
        last_transition_time=since,
    )


def event(kind: str, pod_name: str, reason: str, at: datetime | None) -> CoreV1Event:
    """An event of type *kind* (Normal, Warning) about pod *pod_name*."""
    return CoreV1Event(
        metadata=V1ObjectMeta(name=f"{pod_name}.{reason}"),
        involved_object=V1ObjectReference(kind="Pod", name=pod_name),
        type=kind,
        reason=reason,
        message=f"{reason} happened",
        last_timestamp=at,
    )


def api_json(model: Any) -> Any:
    """*model* as the API server's JSON (camelCase keys, RFC 3339 times)."""
    return ApiClient().sanitize_for_serialization(model)


def from_api_json(data: Any, model: str) -> Any:
    """The API server's JSON *data* as the client's typed *model* (e.g. "V1Pod"), through the
    client's own deserializer."""

    class Response:
        def __init__(self) -> None:
            self.data = json.dumps(data)

    return ApiClient().deserialize(Response(), model)
