"""Rollout decisions on real kubernetes API objects: complete, progressing, failed and why."""

from datetime import timedelta

import pytest
from kubernetes.client import V1ContainerStateTerminated, V1DeploymentCondition, V1ObjectMeta, V1Pod

from pipeline.deploy.rollout import (
    UNSCHEDULABLE_GRACE,
    RolloutStatus,
    State,
    current_pods,
    rollout_status,
    summarize,
    timed_out,
    warnings_for,
)
from pipeline.deploy.rollout_watch import decision
from tests.support.kube_objects import (
    NOW,
    RS_NEW,
    RS_OLD,
    deployment,
    event,
    from_api_json,
    pod,
    running,
    unschedulable,
    waiting,
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


def test_crash_loop_quotes_the_last_log_line_the_kubelet_kept():
    # terminationMessagePolicy FallbackToLogsOnError: the log's tail is the termination message.
    exit_info = V1ContainerStateTerminated(
        exit_code=3, reason="Error", message="loading model\nValueError: no servable at /mnt\n\n"
    )
    broken = pod("p", containers=[waiting("CrashLoopBackOff", restarts=2, last_exit=exit_info)])
    status = rollout_status(deployment(available=0), [RS_NEW], [broken], NOW)
    assert status.reason == "CrashLoopBackOff"
    assert "its last log line: ValueError: no servable at /mnt" in status.message
    assert "loading model" not in status.message


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
    parsed = from_api_json(pod_json, "V1Pod")
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


# -- what the wait does with a status (pipeline.deploy.rollout_watch) -------------------------


def test_a_complete_rollout_ends_the_wait():
    status = rollout_status(
        deployment(), [RS_NEW], [pod("p", phase="Running", containers=[running()])], NOW
    )
    assert decision(status).done
    assert decision(status).failed is None


def test_a_failed_rollout_stops_the_wait_with_its_message():
    broken = pod("p", containers=[waiting("ErrImageNeverPull", "image not present")])
    status = rollout_status(deployment(available=0), [RS_NEW], [broken], NOW)
    found = decision(status)
    assert not found.done
    assert found.failed == status.message
    assert "ErrImageNeverPull" in found.failed and "kind load" in found.failed


def test_a_progressing_rollout_waits_saying_where_it_is():
    status = rollout_status(deployment(available=0), [RS_NEW], [], NOW)
    found = decision(status)
    assert (found.done, found.failed) == (False, None)
    assert found.status == status.message
    assert "0 of 1 updated replicas available" in found.status


def test_a_timeout_says_the_last_status_and_the_pods_warnings():
    last = RolloutStatus(State.PROGRESSING, "Progressing", "Deployment run-ns/x: 0 of 1 available")
    status = timed_out(last, "FailedMount: hostPath type check failed")
    assert (status.state, status.reason) == (State.FAILED, "Timeout")
    assert status.message == (
        "Deployment run-ns/x: 0 of 1 available; still not ready at the deadline;"
        " warnings: FailedMount: hostPath type check failed"
    )
    waited = "'roll out Deployment run-ns/x' timed out after 30.0s (timeout 30s); last seen: …"
    assert timed_out(last, "", waited).message == waited
    assert timed_out(None, "").message == "no status read"
