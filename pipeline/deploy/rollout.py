"""Is a Deployment's rollout progressing, complete, or failed — and if failed, why?

Pure decisions over the ``kubernetes`` client's model objects (V1Deployment, V1ReplicaSet,
V1Pod), as read from the API: no cluster calls here. Completion follows ``kubectl rollout
status``; failure is decided from the pods of the newest ReplicaSet, so a step fails within
seconds of ``ImagePullBackOff`` or ``CrashLoopBackOff`` instead of at its deadline, with the
cause and a hint in the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    # Only their types (the decisions read the objects' fields): the harness imports this
    # module in local runs too, which have no cluster and need not import kubernetes (~0.5 s).
    from kubernetes.client import (
        CoreV1Event,
        V1ContainerStatus,
        V1Deployment,
        V1OwnerReference,
        V1Pod,
        V1ReplicaSet,
    )

REVISION_ANNOTATION: Final = "deployment.kubernetes.io/revision"

_PULL_HINT: Final = (
    "the image cannot be pulled: check its name and tag, that it was pushed (or `kind load`ed"
    " onto the node), and the registry credentials"
)
# Container waiting reasons that will not fix themselves, with what to look at.
FATAL_WAITING: Final = {
    "ImagePullBackOff": _PULL_HINT,
    "ErrImagePull": _PULL_HINT,
    # imagePullPolicy Never (the air-gapped cluster) and the image is not on the node
    "ErrImageNeverPull": "the image is not on the node and the pod may not pull it:"
    " `kind load docker-image` it (or build it with `tox -e airgap`)",
    "InvalidImageName": "the image reference is malformed",
    "CrashLoopBackOff": "the container keeps exiting: read its log"
    " (`kubectl logs --previous`) in the run's artifacts",
    "CreateContainerConfigError": "a Secret or ConfigMap (or a key in it) the pod refers to"
    " is missing",
    "CreateContainerError": "the runtime could not create the container",
    "RunContainerError": "the runtime could not start the container (command or mounts)",
}
# An unschedulable pod is fatal only after this long: an autoscaler may be adding a node.
UNSCHEDULABLE_GRACE: Final = timedelta(seconds=120)


class State(StrEnum):
    """Where a rollout stands."""

    PROGRESSING = "progressing"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass(frozen=True)
class RolloutStatus:
    """A rollout's state; *reason* is a Kubernetes reason word, *message* says the rest."""

    state: State
    reason: str
    message: str

    @property
    def done(self) -> bool:
        """True once waiting longer cannot change the outcome."""
        return self.state is not State.PROGRESSING


def rollout_status(
    deployment: V1Deployment,
    replica_sets: Sequence[V1ReplicaSet],
    pods: Sequence[V1Pod],
    now: datetime,
) -> RolloutStatus:
    """Decide the rollout's state from the Deployment, its ReplicaSets and their pods.

    *now* (timezone-aware) dates how long a pod has been unschedulable.
    """
    name = _describe(deployment)
    spec, status = deployment.spec, deployment.status
    generation = deployment.metadata.generation or 0
    # Until the controller has seen the latest spec, the newest ReplicaSet may be the old one,
    # whose failing pods the new spec may be fixing.
    if status is None or (status.observed_generation or 0) < generation:
        what = f"waiting for the controller to observe generation {generation}"
        return RolloutStatus(State.PROGRESSING, "Progressing", f"{name}: {what}")
    current = current_pods(deployment, replica_sets, pods)
    failure = pod_failure(current, now)
    if failure is not None:
        return RolloutStatus(State.FAILED, failure[0], f"{name}: {failure[1]}")
    for condition in status.conditions or []:
        if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
            return RolloutStatus(
                State.FAILED,
                "ProgressDeadlineExceeded",
                f"{name}: no progress for {spec.progress_deadline_seconds or 600}s"
                f" ({condition.message}); {summarize(current) or 'no pods'}",
            )
    wanted = 1 if spec.replicas is None else spec.replicas
    updated = status.updated_replicas or 0
    if updated < wanted:
        return _progressing(name, f"{updated} of {wanted} replicas updated", current)
    if (status.replicas or 0) > updated:
        return _progressing(
            name, f"{(status.replicas or 0) - updated} old replicas pending termination", current
        )
    available = status.available_replicas or 0
    if available < updated:
        return _progressing(name, f"{available} of {updated} updated replicas available", current)
    return RolloutStatus(
        State.COMPLETE, "Available", f"{name}: {available} of {wanted} replicas available"
    )


def current_pods(
    deployment: V1Deployment, replica_sets: Sequence[V1ReplicaSet], pods: Sequence[V1Pod]
) -> list[V1Pod]:
    """The live pods of the Deployment's newest ReplicaSet (none until it exists).

    Pods of older revisions are being replaced; their troubles are not this rollout's.
    """
    revision = (deployment.metadata.annotations or {}).get(REVISION_ANNOTATION)
    owned = [
        rs
        for rs in replica_sets
        if _owned_by(rs.metadata.owner_references, {deployment.metadata.uid})
    ]
    newest = [
        rs for rs in owned if (rs.metadata.annotations or {}).get(REVISION_ANNOTATION) == revision
    ]
    if revision is None or not newest:
        return []
    uids = {rs.metadata.uid for rs in newest}
    return [
        pod
        for pod in pods
        if pod.metadata.deletion_timestamp is None
        and _owned_by(pod.metadata.owner_references, uids)
    ]


def pod_failure(pods: Sequence[V1Pod], now: datetime) -> tuple[str, str] | None:
    """The first fatal trouble among *pods*, as (reason, message), or None."""
    for pod in pods:
        status = pod.status
        if status is None:
            continue
        if status.phase == "Failed":
            reason = status.reason or "PodFailed"
            return (
                reason,
                f"pod {pod.metadata.name} failed ({reason}): {status.message or 'no message'}",
            )
        for condition in status.conditions or []:
            if (
                condition.type == "PodScheduled"
                and condition.status == "False"
                and condition.reason == "Unschedulable"
            ):
                since = condition.last_transition_time
                if since is not None and now - since >= UNSCHEDULABLE_GRACE:
                    return "Unschedulable", (
                        f"pod {pod.metadata.name} unschedulable for"
                        f" {int((now - since).total_seconds())}s: {condition.message}"
                        " (check resource requests, node capacity and that the PVC is bound)"
                    )
        statuses = [*(status.init_container_statuses or []), *(status.container_statuses or [])]
        for container in statuses:
            waiting = container.state.waiting if container.state else None
            if waiting is not None and waiting.reason in FATAL_WAITING:
                return waiting.reason, (
                    f"pod {pod.metadata.name} container {container.name} is {waiting.reason}:"
                    f" {waiting.message or 'no message'}{_last_exit(container)};"
                    f" {FATAL_WAITING[waiting.reason]}"
                )
    return None


def summarize(pods: Sequence[V1Pod]) -> str:
    """One phrase per pod: its phase, or its containers' waiting reasons and restarts."""
    phrases = []
    for pod in pods:
        status = pod.status
        if status is None:
            phrases.append(f"pod {pod.metadata.name}: no status yet")
            continue
        details = []
        for container in [
            *(status.init_container_statuses or []),
            *(status.container_statuses or []),
        ]:
            state = container.state
            if state and state.waiting:
                details.append(f"{container.name} {state.waiting.reason}")
            elif state and state.running and not container.ready:
                details.append(f"{container.name} running, not ready")
            if container.restart_count:
                details.append(f"{container.name} restarted {container.restart_count}x")
        unscheduled = [
            c.message
            for c in status.conditions or []
            if c.type == "PodScheduled" and c.status == "False"
        ]
        details += [f"unschedulable: {m}" for m in unscheduled]
        phrases.append(
            f"pod {pod.metadata.name} {status.phase}"
            + (f" ({', '.join(details)})" if details else "")
        )
    return "; ".join(phrases)


def warnings_for(events: Sequence[CoreV1Event], pods: Sequence[V1Pod], limit: int = 3) -> str:
    """The newest Warning events about *pods* ("FailedMount: …"), for a timeout's message.

    Some failures never reach a container status — a volume that cannot mount leaves the pod
    in ContainerCreating — and only events say why.
    """
    names = {pod.metadata.name for pod in pods}
    warnings = [
        e
        for e in events
        if e.type == "Warning" and e.involved_object is not None and e.involved_object.name in names
    ]
    epoch = datetime.min.replace(tzinfo=UTC)
    warnings.sort(key=lambda e: e.last_timestamp or e.event_time or epoch, reverse=True)
    return "; ".join(f"{e.reason}: {e.message}" for e in warnings[:limit])


def timed_out(last: RolloutStatus | None, warnings: str, waited: str = "") -> RolloutStatus:
    """The failed status of a rollout the deadline cut short: *waited* (how long, and the last
    status seen) or else *last*'s message, then *warnings* (:func:`warnings_for`)."""
    seen = waited or (
        f"{last.message}; still not ready at the deadline" if last else "no status read"
    )
    return RolloutStatus(
        State.FAILED, "Timeout", seen + (f"; warnings: {warnings}" if warnings else "")
    )


def _progressing(name: str, what: str, pods: Sequence[V1Pod]) -> RolloutStatus:
    summary = summarize(pods)
    return RolloutStatus(
        State.PROGRESSING, "Progressing", f"{name}: {what}" + (f"; {summary}" if summary else "")
    )


def _describe(deployment: V1Deployment) -> str:
    return f"Deployment {deployment.metadata.namespace}/{deployment.metadata.name}"


def _owned_by(references: list[V1OwnerReference] | None, uids: set[str]) -> bool:
    """True if a controller owner reference points at one of *uids*."""
    return any(ref.uid in uids and ref.controller for ref in references or [])


def _last_exit(container: V1ContainerStatus) -> str:
    last = container.last_state.terminated if container.last_state else None
    if last is None:
        return ""
    # With terminationMessagePolicy FallbackToLogsOnError (the manifests set it) the kubelet
    # keeps the tail of a failed container's log here: its last line usually says why.
    said = [line.strip() for line in (last.message or "").splitlines() if line.strip()]
    last_line = f"; its last log line: {said[-1][:300]}" if said else ""
    return (
        f" (last exit code {last.exit_code}, {last.reason or 'no reason'},"
        f" {container.restart_count} restarts{last_line})"
    )
