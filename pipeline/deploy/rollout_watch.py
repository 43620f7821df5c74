"""Wait for a Deployment's rollout on kubekit's watch: its pods are watched, and every change
(at least every few seconds) reads the Deployment and its ReplicaSets and lets
:mod:`pipeline.deploy.rollout` decide.

A container entering ``ImagePullBackOff`` is a pod change, so it is seen at once; the
Deployment's own status, which no pod event announces, within :data:`WAKE_EVERY_SECONDS`.
A fatal cause stops the wait at once (:class:`RolloutFailed`); the deadline gives
:class:`RolloutTimeout`, its message the last status and the pods' warning events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from kubernetes.client import ApiClient, V1Deployment, V1Pod, V1ReplicaSet

from kubekit import objects
from kubekit.constants import label_selector
from kubekit.exceptions import ActionFailed, WaitFailed, WaitTimeout
from kubekit.wait import Decision
from pipeline.deploy.rollout import (
    RolloutStatus,
    State,
    current_pods,
    rollout_status,
    timed_out,
    warnings_for,
)

log = logging.getLogger("mnist_e2e.deploy")

WAKE_EVERY_SECONDS: Final = 5.0


class RolloutFailed(WaitFailed):
    """A rollout failed for a cause waiting cannot fix; ``status`` says which."""

    def __init__(self, message: str, *, status: RolloutStatus, description: str) -> None:
        super().__init__(message, description=description)
        self.status = status


class RolloutTimeout(RolloutFailed, WaitTimeout):
    """The deadline passed with the rollout still progressing; ``status.reason`` is Timeout."""


def decision(status: RolloutStatus) -> Decision:
    """What the wait does with *status*: done when complete, stop when failed, else wait."""
    return Decision(
        done=status.state is State.COMPLETE,
        failed=status.message if status.state is State.FAILED else None,
        status=status.message,
    )


class _Rollout:
    """The objects of one Deployment's rollout, as last read."""

    def __init__(self, client: ApiClient, namespace: str, name: str) -> None:
        self.client, self.namespace = client, namespace
        self.deployment = objects.Deployment(client, name, namespace)
        self.last: RolloutStatus | None = None
        self.read: tuple[V1Deployment, list[V1ReplicaSet], list[V1Pod]] | None = None

    @staticmethod
    def selector_of(deployment: V1Deployment) -> str:
        return label_selector(deployment.spec.selector.match_labels or {})

    def selector(self) -> str:
        return self.selector_of(self.deployment.read())

    def decide(self, pods: list[Any], now: Callable[[], datetime]) -> Decision:
        deployment = self.deployment.read()
        replica_sets = objects.ReplicaSet.list(
            self.client, self.namespace, label_selector=self.selector_of(deployment)
        )
        self.read = (deployment, replica_sets, pods)
        self.last = rollout_status(deployment, replica_sets, pods, now=now())
        return decision(self.last)

    def pod_warnings(self) -> str:
        """The newest Warning events about the rollout's pods; "" when unreadable."""
        if self.read is None:
            return ""
        try:
            events = objects.Event.list(
                self.client, self.namespace, field_selector="involvedObject.kind=Pod"
            )
        except ActionFailed as exc:  # they only add detail: the timeout is reported anyway
            log.warning("could not read the events in %s: %s", self.namespace, exc)
            return ""
        return warnings_for(events, current_pods(*self.read))


def wait_for_rollout(
    client: ApiClient,
    namespace: str,
    name: str,
    *,
    timeout: float,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RolloutStatus:
    """Block until Deployment *namespace*/*name* is complete; its status.

    Raises :class:`RolloutFailed` when it cannot complete, :class:`RolloutTimeout` after
    *timeout* seconds, and kubekit's typed errors when the API refuses (``NotFound``,
    ``Forbidden``, …). *now* dates how long a pod has been unschedulable.
    """
    rollout = _Rollout(client, namespace, name)
    description = f"roll out {rollout.deployment}"
    try:
        objects.Pod.watch_until(
            client,
            description,
            lambda pods: rollout.decide(pods, now),
            timeout=timeout,
            namespace=namespace,
            label_selector=rollout.selector(),
            wake_every=WAKE_EVERY_SECONDS,
        )
    except WaitTimeout as exc:
        status = timed_out(rollout.last, rollout.pod_warnings(), str(exc))
        raise RolloutTimeout(
            f"rollout failed (Timeout): {status.message}", status=status, description=description
        ) from exc
    except WaitFailed as exc:
        if rollout.last is None or rollout.last.state is not State.FAILED:
            raise  # the watch itself failed, not the rollout
        raise RolloutFailed(
            f"rollout failed ({rollout.last.reason}): {exc}",
            status=rollout.last,
            description=description,
        ) from exc
    assert rollout.last is not None  # the wait returns only after a decision
    return rollout.last
