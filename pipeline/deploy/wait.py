"""Wait for a Deployment's rollout, by watching its pods, until a deadline.

Thin: it reads the Deployment, its ReplicaSets and pods, lets :mod:`pipeline.deploy.rollout`
decide, and otherwise blocks on a pod watch (from the list's resourceVersion, so only changes
wake it) for at most a few seconds — a container entering ``ImagePullBackOff`` is seen at
once, and the Deployment's own status, which no pod event announces, within that bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from kubernetes import watch
from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api, CoreV1Event
from kubernetes.client.exceptions import ApiException

from pipeline.deploy import retry
from pipeline.deploy.rollout import (
    RolloutStatus,
    State,
    current_pods,
    rollout_status,
    warnings_for,
)

POLL_SECONDS: Final = 5.0
REQUEST_TIMEOUT: Final = 30.0


def label_selector(labels: dict[str, str]) -> str:
    """``k=v,k2=v2``, the API's label selector syntax, in a stable order."""
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def wait_for_rollout(
    api_client: ApiClient,
    namespace: str,
    name: str,
    deadline: float,
    *,
    log: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
) -> RolloutStatus:
    """Block until Deployment *namespace*/*name* is complete or failed, or *deadline* passes.

    *deadline* is a *clock* value. A timeout comes back as a failed status with reason
    ``Timeout`` and the last thing seen, never as a hang.
    """
    apps, core = AppsV1Api(api_client), CoreV1Api(api_client)
    last_message = ""
    while True:
        deployment = retry.call(
            f"read Deployment {namespace}/{name}",
            lambda: apps.read_namespaced_deployment(
                name, namespace, _request_timeout=REQUEST_TIMEOUT
            ),
            deadline,
            log=log,
        )
        selector = label_selector(deployment.spec.selector.match_labels or {})
        replica_sets = retry.call(
            f"list ReplicaSets of {namespace}/{name}",
            lambda selector=selector: apps.list_namespaced_replica_set(
                namespace, label_selector=selector, _request_timeout=REQUEST_TIMEOUT
            ),
            deadline,
            log=log,
        ).items
        pods = retry.call(
            f"list pods of {namespace}/{name}",
            lambda selector=selector: core.list_namespaced_pod(
                namespace, label_selector=selector, _request_timeout=REQUEST_TIMEOUT
            ),
            deadline,
            log=log,
        )
        status = rollout_status(deployment, replica_sets, pods.items, now=datetime.now(UTC))
        if status.message != last_message:
            log(status.message)
            last_message = status.message
        if status.done:
            return status
        remaining = deadline - clock()
        if remaining <= 0:
            events = _pod_events(core, namespace, log)
            warnings = warnings_for(events, current_pods(deployment, replica_sets, pods.items))
            return RolloutStatus(
                State.FAILED,
                "Timeout",
                f"{status.message}; still not ready at the deadline"
                + (f"; warnings: {warnings}" if warnings else ""),
            )
        _wait_for_pod_change(
            core, namespace, selector, pods.metadata.resource_version, min(POLL_SECONDS, remaining)
        )


def _pod_events(core: CoreV1Api, namespace: str, log: Callable[[str], None]) -> list[CoreV1Event]:
    """The namespace's events about pods; [] if they cannot be read (they only add detail)."""
    try:
        return core.list_namespaced_event(
            namespace, field_selector="involvedObject.kind=Pod", _request_timeout=REQUEST_TIMEOUT
        ).items
    except Exception as exc:  # best effort: the timeout is reported either way
        log(f"could not read events in {namespace}: {retry.describe_error(exc)}")
        return []


def _wait_for_pod_change(
    core: CoreV1Api, namespace: str, selector: str, resource_version: str, seconds: float
) -> None:
    """Return at the first pod event after *resource_version*, or after *seconds*."""
    pod_watch = watch.Watch()
    try:
        for _event in pod_watch.stream(
            core.list_namespaced_pod,
            namespace,
            label_selector=selector,
            resource_version=resource_version,
            timeout_seconds=max(1, int(seconds)),
            _request_timeout=seconds + REQUEST_TIMEOUT,
        ):
            return
    except ApiException as exc:
        # 410 Gone: the resourceVersion is too old to watch from; the caller lists again.
        if exc.status != 410 and retry.transient_reason(exc) is None:
            raise retry.DeployError(
                f"'watch pods of {namespace}' failed: {retry.describe_error(exc)}"
            ) from exc
    except Exception as exc:
        if retry.transient_reason(exc) is None:
            raise
    finally:
        pod_watch.stop()
