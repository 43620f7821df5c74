"""Waiting for a rollout over real HTTP: reacts to pod events, stops at the deadline."""

import pytest

from pipeline.deploy import retry
from pipeline.deploy.rollout import State
from pipeline.deploy.wait import label_selector, wait_for_rollout
from tests.fake_apiserver import (
    FakeApiServer,
    deployment_json,
    pod_json,
    pod_list,
    replica_set_list,
    serving,
    status_body,
)

NS = "run-ns"
DEPLOYMENT = f"/apis/apps/v1/namespaces/{NS}/deployments/tf-serving"
REPLICA_SETS = f"/apis/apps/v1/namespaces/{NS}/replicasets"
PODS = f"/api/v1/namespaces/{NS}/pods"
EVENTS = f"/api/v1/namespaces/{NS}/events"
LABELS = {"app.kubernetes.io/name": "tf-serving"}
EVENT_LIST = {
    "kind": "EventList",
    "metadata": {},
    "items": [
        {
            "metadata": {"name": "e1", "namespace": NS},
            "type": "Warning",
            "reason": "FailedMount",
            "message": "hostPath type check failed: /var/local/mnist-e2e/run-ns is not a directory",
            "involvedObject": {"kind": "Pod", "name": "tf-serving-1-x", "namespace": NS},
            "lastTimestamp": "2026-11-24T12:00:00Z",
        },
        {
            "metadata": {"name": "e2", "namespace": NS},
            "type": "Warning",
            "reason": "BackOff",
            "message": "about another pod",
            "involvedObject": {"kind": "Pod", "name": "other", "namespace": NS},
        },
    ],
}


def deployment(available):
    return deployment_json("tf-serving", NS, available, LABELS)


def pods(waiting, version="10"):
    return pod_list([pod_json("tf-serving", NS, LABELS, waiting)], version)


class Clock:
    """A monotonic clock that moves one second per reading."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


def test_label_selector_is_stable():
    assert label_selector({"b": "2", "a": "1"}) == "a=1,b=2"


def test_complete_rollout_returns_without_watching():
    with serving(FakeApiServer()) as fake:
        fake.route("GET", DEPLOYMENT, (200, deployment(available=1)))
        fake.route("GET", REPLICA_SETS, (200, replica_set_list("tf-serving", NS)))
        fake.route("GET", PODS, (200, pods("ContainerCreating", "10")))
        status = wait_for_rollout(
            fake.client(), NS, "tf-serving", deadline=1e9, log=lambda _m: None
        )
    assert status.state is State.COMPLETE
    assert not [r for r in fake.requests if r.query.get("watch")]
    (pods_request,) = fake.seen("GET", PODS)
    assert pods_request.query["labelSelector"] == ["app.kubernetes.io/name=tf-serving"]


def test_image_pull_backoff_after_a_pod_event_fails_fast():
    logs = []
    with serving(FakeApiServer()) as fake:
        fake.route("GET", DEPLOYMENT, (200, deployment(available=0)))
        fake.route("GET", REPLICA_SETS, (200, replica_set_list("tf-serving", NS)))
        fake.route(
            "GET",
            PODS,
            (200, pods("ContainerCreating", "10")),
            (200, pods("ImagePullBackOff", "11")),
        )
        fake.watches[PODS] = lambda _r: [
            {"type": "MODIFIED", "object": pod_json("tf-serving", NS, LABELS, "ImagePullBackOff")}
        ]
        status = wait_for_rollout(fake.client(), NS, "tf-serving", deadline=1e9, log=logs.append)
    assert (status.state, status.reason) == (State.FAILED, "ImagePullBackOff")
    (watch,) = [r for r in fake.requests if r.query.get("watch")]
    # The watch starts at the list's resourceVersion: only changes wake it.
    assert watch.query["resourceVersion"] == ["10"]
    assert any("ContainerCreating" in line for line in logs)


def test_deadline_turns_into_a_timeout_status_with_the_last_state():
    clock = Clock()
    with serving(FakeApiServer()) as fake:
        fake.route("GET", DEPLOYMENT, (200, deployment(available=0)))
        fake.route("GET", REPLICA_SETS, (200, replica_set_list("tf-serving", NS)))
        fake.route("GET", PODS, (200, pods("ContainerCreating", "10")))
        fake.route("GET", EVENTS, (200, EVENT_LIST))
        status = wait_for_rollout(
            fake.client(), NS, "tf-serving", deadline=4.0, log=lambda _m: None, clock=clock
        )
    assert (status.state, status.reason) == (State.FAILED, "Timeout")
    assert "0 of 1 updated replicas available" in status.message
    assert "ContainerCreating" in status.message
    # A volume that cannot mount shows only in events; the timeout message quotes them.
    assert "warnings: FailedMount: hostPath type check failed" in status.message
    (events_request,) = fake.seen("GET", EVENTS)
    assert events_request.query["fieldSelector"] == ["involvedObject.kind=Pod"]


def test_missing_deployment_is_a_clear_error():
    with serving(FakeApiServer()) as fake:
        fake.route(
            "GET", DEPLOYMENT, (404, status_body(404, 'deployments.apps "tf-serving" not found'))
        )
        with pytest.raises(
            retry.DeployError, match=r"'read Deployment run-ns/tf-serving' failed: HTTP 404"
        ):
            wait_for_rollout(fake.client(), NS, "tf-serving", deadline=1e9, log=lambda _m: None)
