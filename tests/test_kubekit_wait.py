"""kubekit.wait: the one wait (polling, a fatal hook, a deadline saying what was seen last) and
watch_until on top of it.

watch_until is tested at the function level: *list_call* is an in-process fake and the
kubernetes client's ``Watch`` is replaced by one streaming scripted events. That checks its
decisions (fail on an event, time out with the last status, list again after 410 Gone, apply
DELETED events), not the wire; watches against a real API server are the cluster tier's.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from kubernetes import client as k8s

from kubekit.exceptions import ApiError, NotReady, WaitFailed, WaitTimeout
from kubekit.wait import Decision, until, wait_until, watch_until
from tests.support import kube_objects as objects


def test_returns_once_the_probe_passes():
    calls = []

    def probe():
        calls.append(1)
        if len(calls) < 3:
            raise NotReady("warming up")
        return "ready"

    assert wait_until("thing", probe, timeout=5) == "ready"
    assert len(calls) == 3


def test_deadline_error_names_the_wait_and_the_last_reason():
    def probe():
        raise NotReady("port 9 refused")

    with pytest.raises(
        WaitTimeout, match=r"'model server' timed out after .*s \(timeout 0s\); last seen: port 9"
    ):
        wait_until("model server", probe, timeout=0.3)


def test_fatal_condition_fails_at_once():
    calls = []
    with pytest.raises(WaitFailed, match=r"'train' failed after .*: train exited with code 1"):
        wait_until(
            "train", lambda: calls.append(1), timeout=60, fatal=lambda: "train exited with code 1"
        )
    assert calls == []  # asked before the first attempt


def test_unexpected_errors_are_not_retried():
    calls = []

    def probe():
        calls.append(1)
        raise ValueError("bug")

    with pytest.raises(ValueError, match="bug"):
        wait_until("x", probe, timeout=5)
    assert len(calls) == 1


def test_until_polls_a_condition_and_names_it_when_it_never_holds():
    answers = iter([False, 0, "yes"])
    until("flag set", lambda: next(answers), timeout=5, max_interval=0.01)
    with pytest.raises(WaitTimeout, match=r"'log has 'ready'' timed out after .*last seen: not"):
        until("log has 'ready'", lambda: False, timeout=0.2, max_interval=0.01)


def test_the_sleep_backs_off_up_to_the_max_interval_and_never_past_the_deadline():
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    def probe() -> None:
        raise NotReady("no")

    with pytest.raises(WaitTimeout):
        wait_until("x", probe, timeout=2.0, max_interval=0.4, clock=lambda: now[0], sleep=sleep)
    assert sleeps[:4] == [0.05, 0.1, 0.2, 0.4]
    assert max(sleeps) == 0.4
    assert sum(sleeps) == pytest.approx(2.0)  # the last sleep is cut to the deadline


# -- watch_until -----------------------------------------------------------------------------


def pod(name: str, waiting: str | None = None) -> k8s.V1Pod:
    """A pod of KFP's train step: running, or with its container *waiting* for *waiting*."""
    container = (
        objects.waiting(waiting, "x:1", name="main", image="x:1")
        if waiting
        else objects.running(name="main", image="x:1")
    )
    return objects.pod(
        name,
        owner=None,
        namespace="kubeflow",
        labels={},
        phase="Pending" if waiting else "Running",
        containers=[container],
    )


class FakeList:
    """A ``list_*`` method: each call answers the next (items, resourceVersion)."""

    def __init__(self, *answers: tuple[list[Any], str]) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> k8s.V1PodList:
        self.calls.append(kwargs)
        items, version = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return k8s.V1PodList(items=items, metadata=k8s.V1ListMeta(resource_version=version))


class FakeWatch:
    """kubernetes.watch.Watch streaming scripted rounds: each stream() yields one round's
    events (or raises it, when it is an exception); no events: the watch timed out."""

    rounds: ClassVar[list[list[dict[str, Any]] | BaseException]] = []
    streams: ClassVar[list[dict[str, Any]]] = []

    def __init__(self) -> None:
        self.resource_version: str | None = None

    def stream(self, func: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        FakeWatch.streams.append(kwargs)
        round_ = FakeWatch.rounds.pop(0) if FakeWatch.rounds else []
        if isinstance(round_, BaseException):
            raise round_
        for event in round_:
            self.resource_version = event.get("version", self.resource_version)
            yield event

    def stop(self) -> None:
        pass


@pytest.fixture
def fake_watch(monkeypatch: pytest.MonkeyPatch) -> type[FakeWatch]:
    import kubernetes.watch

    FakeWatch.rounds, FakeWatch.streams = [], []
    monkeypatch.setattr(kubernetes.watch, "Watch", FakeWatch)
    return FakeWatch


def test_watch_fails_fast_when_a_watched_pod_turns_fatal(fake_watch: type[FakeWatch]) -> None:
    from fixtures.kfp import classify

    def decide(pods: list) -> Decision:
        found = classify.run_pods_failure(pods, classify.datetime.now(classify.UTC))
        return Decision(failed=found.message if found else None, status=f"{len(pods)} pods")

    listed = FakeList(([pod("train", "ContainerCreating")], "7"))
    fake_watch.rounds = [
        [{"type": "MODIFIED", "object": pod("train", "ImagePullBackOff"), "version": "8"}]
    ]
    ticks = itertools.count(0, 1)
    with pytest.raises(WaitFailed, match="ImagePullBackOff") as caught:
        watch_until(
            "pods",
            listed,
            decide,
            timeout=30,
            list_kwargs={"namespace": "kubeflow"},
            clock=lambda: float(next(ticks)),
        )
    assert not isinstance(caught.value, WaitTimeout)  # failed on the event, not the deadline
    assert len(listed.calls) == 1  # listed once, then watched from the list's version
    assert listed.calls[0]["namespace"] == "kubeflow"
    (stream,) = fake_watch.streams
    assert stream["resource_version"] == "7"
    assert stream["namespace"] == "kubeflow"


def test_watch_times_out_saying_what_it_saw_last(fake_watch: type[FakeWatch]) -> None:
    ticks = iter(range(0, 1000, 50))
    listed = FakeList(([], "1"))
    with pytest.raises(WaitTimeout, match=r"timed out after .*last seen: still nothing"):
        watch_until(
            "pods",
            listed,
            lambda pods: Decision(status="still nothing"),
            timeout=60,
            list_kwargs={"namespace": "kubeflow"},
            clock=lambda: float(next(ticks)),
        )
    assert fake_watch.streams  # it watched (blocked on a change) rather than spinning


def test_a_watch_ends_with_what_it_waited_for_and_returns_the_objects(
    fake_watch: type[FakeWatch],
) -> None:
    listed = FakeList(([pod("a"), pod("b")], "3"))
    fake_watch.rounds = [
        [],  # the watch timed out quietly: decide again, not done yet
        [{"type": "DELETED", "object": pod("a"), "version": "4"}],
    ]
    found = watch_until(
        "pod a to go",
        listed,
        lambda pods: Decision(
            done=all(p.metadata.name != "a" for p in pods), status=f"{len(pods)} pods"
        ),
        timeout=60,
        wake_every=5,
    )
    assert [p.metadata.name for p in found] == ["b"]
    assert len(fake_watch.streams) == 2
    assert fake_watch.streams[0]["timeout_seconds"] <= 5  # wake_every bounds each watch


def test_410_gone_lists_again_and_an_api_error_while_watching_is_fatal(
    fake_watch: type[FakeWatch],
) -> None:
    gone = k8s.ApiException(status=410, reason="Gone")
    listed = FakeList(([pod("a")], "3"), ([pod("a")], "9"))
    fake_watch.rounds = [gone, k8s.ApiException(status=403, reason="Forbidden")]
    with pytest.raises(WaitFailed, match=r"'pods': watching failed: HTTP 403") as caught:
        watch_until("pods", listed, lambda pods: Decision(status="waiting"), timeout=60)
    assert not isinstance(caught.value, ApiError | WaitTimeout)
    assert len(listed.calls) == 2  # listed again after the 410
    assert [s["resource_version"] for s in fake_watch.streams] == ["3", "9"]
