"""Rollout decisions on real kubernetes API objects: complete, progressing, failed and why."""

import json
from datetime import UTC, datetime, timedelta

import pytest
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

from pipeline.deploy.rollout import (
    REVISION_ANNOTATION,
    UNSCHEDULABLE_GRACE,
    State,
    current_pods,
    rollout_status,
    summarize,
    warnings_for,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LABELS = {"app.kubernetes.io/name": "tf-serving"}


def deployment(
    *,
    generation=2,
    observed=2,
    replicas=1,
    updated=1,
    total=1,
    available=1,
    revision="2",
    conditions=(),
):
    return V1Deployment(
        metadata=V1ObjectMeta(
            name="tf-serving",
            namespace="run-ns",
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
                spec=V1PodSpec(containers=[V1Container(name="tf-serving", image="tf:1")]),
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


def replica_set(revision, uid):
    return V1ReplicaSet(
        metadata=V1ObjectMeta(
            name=f"tf-serving-{uid}",
            namespace="run-ns",
            uid=uid,
            annotations={REVISION_ANNOTATION: revision},
            owner_references=[
                V1OwnerReference(
                    api_version="apps/v1",
                    kind="Deployment",
                    name="tf-serving",
                    uid="dep-uid",
                    controller=True,
                )
            ],
        )
    )


RS_OLD = replica_set("1", "rs-old")
RS_NEW = replica_set("2", "rs-new")


def pod(name, *, owner="rs-new", phase="Pending", containers=(), conditions=(), deleting=False):
    return V1Pod(
        metadata=V1ObjectMeta(
            name=name,
            namespace="run-ns",
            labels=LABELS,
            deletion_timestamp=NOW if deleting else None,
            owner_references=[
                V1OwnerReference(
                    api_version="apps/v1", kind="ReplicaSet", name=owner, uid=owner, controller=True
                )
            ],
        ),
        status=V1PodStatus(
            phase=phase, container_statuses=list(containers), conditions=list(conditions)
        ),
    )


def waiting(reason, message="", restarts=0, last_exit=None):
    return V1ContainerStatus(
        name="tf-serving",
        image="tf:1",
        image_id="",
        ready=False,
        restart_count=restarts,
        state=V1ContainerState(waiting=V1ContainerStateWaiting(reason=reason, message=message)),
        last_state=V1ContainerState(terminated=last_exit) if last_exit else None,
    )


def running(ready=True):
    return V1ContainerStatus(
        name="tf-serving",
        image="tf:1",
        image_id="",
        ready=ready,
        restart_count=0,
        state=V1ContainerState(running=V1ContainerStateRunning(started_at=NOW)),
    )


def test_available_rollout_is_complete():
    status = rollout_status(
        deployment(), [RS_NEW], [pod("p", phase="Running", containers=[running()])], NOW
    )
    assert status.state is State.COMPLETE
    assert status.done
    assert "run-ns/tf-serving" in status.message


def test_unobserved_generation_is_progressing_even_if_old_pods_fail():
    # The new spec may be the fix for the old revision's crash-looping pods.
    old_failing = pod("old", owner="rs-new", containers=[waiting("CrashLoopBackOff")])
    status = rollout_status(deployment(generation=3, observed=2), [RS_NEW], [old_failing], NOW)
    assert status.state is State.PROGRESSING
    assert "generation 3" in status.message


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"updated": 0, "available": 0}, "0 of 1 replicas updated"),
        ({"total": 2}, "1 old replicas pending termination"),
        ({"available": 0}, "0 of 1 updated replicas available"),
    ],
)
def test_incomplete_rollouts_are_progressing(kwargs, expected):
    status = rollout_status(deployment(**kwargs), [RS_NEW], [], NOW)
    assert status.state is State.PROGRESSING
    assert expected in status.message
    assert not status.done


def test_image_pull_backoff_fails_at_once_naming_pod_container_and_image():
    broken = pod(
        "tf-serving-abc",
        containers=[
            waiting("ImagePullBackOff", 'Back-off pulling image "tensorflow/serving:9.9"'),
        ],
    )
    status = rollout_status(deployment(available=0), [RS_NEW], [broken], NOW)
    assert status.state is State.FAILED
    assert status.reason == "ImagePullBackOff"
    assert "tf-serving-abc" in status.message
    assert "container tf-serving" in status.message
    assert "tensorflow/serving:9.9" in status.message
    assert "kind load" in status.message  # the hint says what to check


def test_err_image_pull_fails():
    broken = pod("p", containers=[waiting("ErrImagePull", "manifest unknown")])
    status = rollout_status(deployment(available=0), [RS_NEW], [broken], NOW)
    assert (status.state, status.reason) == (State.FAILED, "ErrImagePull")


def test_crash_loop_reports_last_exit():
    exit_info = V1ContainerStateTerminated(exit_code=137, reason="OOMKilled")
    broken = pod(
        "p",
        phase="Running",
        containers=[waiting("CrashLoopBackOff", "back-off 40s", restarts=3, last_exit=exit_info)],
    )
    status = rollout_status(deployment(available=0), [RS_NEW], [broken], NOW)
    assert status.reason == "CrashLoopBackOff"
    assert "exit code 137" in status.message
    assert "OOMKilled" in status.message
    assert "3 restarts" in status.message


def test_failure_in_an_old_revision_is_not_this_rollouts():
    old_broken = pod("old", owner="rs-old", containers=[waiting("ImagePullBackOff")])
    new_fine = pod("new", phase="Running", containers=[running(ready=False)])
    status = rollout_status(deployment(available=0), [RS_OLD, RS_NEW], [old_broken, new_fine], NOW)
    assert status.state is State.PROGRESSING


def test_terminating_pods_are_ignored():
    leaving = pod("leaving", containers=[waiting("CrashLoopBackOff")], deleting=True)
    assert current_pods(deployment(), [RS_NEW], [leaving]) == []


def test_no_pods_before_the_new_replica_set_exists():
    assert current_pods(deployment(revision="3"), [RS_OLD, RS_NEW], [pod("p")]) == []


def test_progress_deadline_exceeded_fails():
    condition = V1DeploymentCondition(
        type="Progressing",
        status="False",
        reason="ProgressDeadlineExceeded",
        message='ReplicaSet "tf-serving-abc" has timed out progressing.',
    )
    status = rollout_status(
        deployment(available=0, conditions=[condition]),
        [RS_NEW],
        [pod("p", phase="Running", containers=[running(ready=False)])],
        NOW,
    )
    assert status.reason == "ProgressDeadlineExceeded"
    assert "timed out progressing" in status.message
    assert "running, not ready" in status.message


def unschedulable(since):
    return V1PodCondition(
        type="PodScheduled",
        status="False",
        reason="Unschedulable",
        message="0/1 nodes are available: 1 Insufficient memory.",
        last_transition_time=since,
    )


def test_unschedulable_is_fatal_only_after_the_grace_period():
    fresh = pod("p", conditions=[unschedulable(NOW - timedelta(seconds=10))])
    status = rollout_status(deployment(available=0), [RS_NEW], [fresh], NOW)
    assert status.state is State.PROGRESSING
    assert "Insufficient memory" in status.message

    stale = pod("p", conditions=[unschedulable(NOW - UNSCHEDULABLE_GRACE)])
    status = rollout_status(deployment(available=0), [RS_NEW], [stale], NOW)
    assert status.reason == "Unschedulable"
    assert "Insufficient memory" in status.message


def test_evicted_pod_fails():
    evicted = pod("p", phase="Failed")
    evicted.status.reason = "Evicted"
    evicted.status.message = "The node was low on resource: memory."
    status = rollout_status(deployment(available=0), [RS_NEW], [evicted], NOW)
    assert (status.state, status.reason) == (State.FAILED, "Evicted")


def test_init_container_failures_count():
    broken = pod("p")
    broken.status.init_container_statuses = [
        waiting("CreateContainerConfigError", "secret missing")
    ]
    status = rollout_status(deployment(available=0), [RS_NEW], [broken], NOW)
    assert status.reason == "CreateContainerConfigError"
    assert "Secret or ConfigMap" in status.message


def test_objects_deserialized_from_api_json():
    # The shape the API server really sends, through the client's own deserializer.
    client = ApiClient()

    class Response:
        def __init__(self, obj):
            self.data = json.dumps(obj)

    pod_json = {
        "metadata": {
            "name": "tf-serving-7d9-x",
            "namespace": "run-ns",
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "rs-new",
                    "uid": "rs-new",
                    "controller": True,
                }
            ],
        },
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "tf-serving",
                    "image": "tensorflow/serving:2.20.0",
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "state": {
                        "waiting": {
                            "reason": "ErrImagePull",
                            "message": "pull access denied, repository does not exist",
                        }
                    },
                }
            ],
        },
    }
    parsed = client.deserialize(Response(pod_json), "V1Pod")
    status = rollout_status(deployment(available=0), [RS_NEW], [parsed], NOW)
    assert status.reason == "ErrImagePull"
    assert "pull access denied" in status.message


def test_summary_lists_waiting_reasons_and_restarts():
    text = summarize(
        [
            pod("a", containers=[waiting("ContainerCreating", restarts=2)]),
            V1Pod(metadata=V1ObjectMeta(name="b")),
        ]
    )
    assert "pod a Pending (tf-serving ContainerCreating, tf-serving restarted 2x)" in text
    assert "pod b: no status yet" in text


def event(kind, pod_name, reason, at):
    return CoreV1Event(
        metadata=V1ObjectMeta(name=f"{pod_name}.{reason}"),
        involved_object=V1ObjectReference(kind="Pod", name=pod_name),
        type=kind,
        reason=reason,
        message=f"{reason} happened",
        last_timestamp=at,
    )


def test_warnings_are_the_newest_about_these_pods():
    events = [
        event("Warning", "p", "FailedMount", NOW - timedelta(seconds=60)),
        event("Warning", "p", "FailedScheduling", NOW),
        event("Normal", "p", "Pulling", NOW),
        event("Warning", "someone-else", "BackOff", NOW),
    ]
    assert warnings_for(events, [pod("p")]) == (
        "FailedScheduling: FailedScheduling happened; FailedMount: FailedMount happened"
    )
    assert (
        warnings_for(events, [pod("p")], limit=1) == "FailedScheduling: FailedScheduling happened"
    )
