"""Waiting on a KFP run (ClusterPlatform._wait_for_run) against real pods in the tier
cluster's ``kubeflow`` namespace and a KFP API STAND-IN (tests/support/kfp_stand_in.py).

Kubeflow Pipelines cannot run on this machine (its Go module cannot be fetched), so the run's
state and task details come from the stand-in, scripted per test; the pods the wait watches
are real, created here with KFP's and Argo's labels from the project image. What this proves:
the harness reads real pod statuses (a pod that cannot get its image fails the wait before
KFP says anything) and the v2beta1 run it is shown; not how KFP itself reports a run.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from fixtures.cluster.kfp_api import KfpApi
from fixtures.phases import PhaseClock
from fixtures.platforms import cluster_base
from fixtures.platforms.cluster_base import ClusterRunFailed
from fixtures.platforms.kind import KindPlatform
from tests.support import kfp_run_pods as pods
from tests.support.kfp_stand_in import KfpStandIn, run_state, serving, task

Waiter = Callable[[str, float], KindPlatform]


@pytest.fixture
def stand_in() -> Iterator[tuple[KfpStandIn, str]]:
    """The KFP API stand-in on loopback (the harness process calls it; no pod does)."""
    with serving() as served:
        yield served


@pytest.fixture
def waiter(
    run: KindPlatform,
    step_identity: tuple[str, str],
    stand_in: tuple[KfpStandIn, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Waiter]:
    """Makes the platform that waits: the shared run's config, ledger and image, its own phase
    clock and verdict, pointed at the stand-in's run *kfp_run_id* with *wait_timeout*."""
    # The stand-in's run changes only when asked: asking every 2s instead of 10s only
    # shortens the test, the decisions are the same.
    monkeypatch.setattr(cluster_base, "RUN_POLL_SECONDS", 2.0)
    made: list[KfpApi] = []

    def make(kfp_run_id: str, wait_timeout: float) -> KindPlatform:
        config = dataclasses.replace(run.config, wait_timeout=wait_timeout)
        subject = KindPlatform(config, run.run_id, run.ledger, PhaseClock())
        subject.image = run.image
        subject.kfp = KfpApi(stand_in[1], attempts=1)
        subject.kfp_run_id = kfp_run_id
        made.append(subject.kfp)
        return subject

    yield make
    for api in made:
        api.close()


def _apply_and_wait_done(run: KindPlatform, *bodies: dict) -> None:
    pods.apply(run, bodies)
    for body in bodies:
        name = body["metadata"]["name"]
        pods.wait_for_pod(
            run, name, body["metadata"]["namespace"], "to finish", pods.phase_is("Succeeded")
        )


def test_a_successful_run_reports_its_steps_and_phase_times(
    run: KindPlatform,
    step_identity: tuple[str, str],
    stand_in: tuple[KfpStandIn, str],
    waiter: Waiter,
) -> None:
    namespace, _ = step_identity
    workflow = pods.workflow_name("ok")
    accuracy = ["sh", "-c", "echo loss=0.1; echo test_accuracy=0.9731"]
    _apply_and_wait_done(
        run,
        pods.run_pod(
            run,
            name=f"{workflow}-train",
            namespace=namespace,
            workflow=workflow,
            task="train",
            command=accuracy,
        ),
        *(
            pods.run_pod(
                run, name=f"{workflow}-{s}", namespace=namespace, workflow=workflow, task=s
            )
            for s in ("serve", "web-ui")
        ),
    )
    done = datetime.now(UTC)
    ended = {s: done + timedelta(seconds=n) for n, s in enumerate(("train", "serve", "web-ui"))}

    def step(name: str, state: str) -> dict:
        end = ended[name] if state == "SUCCEEDED" else None
        return task(name, state, pod_name=f"{workflow}-{name}", end_time=end)

    state, _url = stand_in
    kfp_run = state.add_run(
        run.run_id,
        run_state("RUNNING", step("train", "RUNNING")),
        run_state("RUNNING", step("train", "SUCCEEDED"), step("serve", "RUNNING")),
        run_state("SUCCEEDED", *(step(s, "SUCCEEDED") for s in ("web-ui", "serve", "train"))),
    )
    subject = waiter(kfp_run, 300)
    subject.wait_step().run()
    assert subject.train_accuracy == pytest.approx(0.9731)
    assert subject.verdict is not None and subject.verdict.state == "succeeded"
    assert subject.verdict.finished_steps == ("train", "serve", "web-ui")
    assert subject.clock.names()[:2] == ["train", "serve ready"]
    assert "ui ready" in subject.clock.names()
    train = next(p for p in subject.clock.phases if p.name == "train")
    assert train.end is not None  # the train phase ended when KFP said train succeeded


def test_a_failed_step_fails_the_wait_with_its_cause(
    run: KindPlatform,
    step_identity: tuple[str, str],
    stand_in: tuple[KfpStandIn, str],
    waiter: Waiter,
) -> None:
    namespace, _ = step_identity
    workflow = pods.workflow_name("failed-step")
    _apply_and_wait_done(
        run,
        pods.run_pod(
            run, name=f"{workflow}-train", namespace=namespace, workflow=workflow, task="train"
        ),
    )
    state, _url = stand_in
    kfp_run = state.add_run(
        run.run_id,
        run_state(
            "FAILED",
            task("train", "SUCCEEDED", pod_name=f"{workflow}-train"),
            task("serve", "FAILED", error="rollout failed (ImagePullBackOff)"),
        ),
    )
    subject = waiter(kfp_run, 300)
    with pytest.raises(ClusterRunFailed) as caught:
        subject.wait_step().run()
    message = str(caught.value)
    assert message.startswith("'KFP run") and "FailedStep: KFP run" in message
    assert "step 'serve'" in message and "rollout failed (ImagePullBackOff)" in message


@pytest.mark.parametrize("found_by", ["task pod name", "pipeline/runid label"])
def test_the_runs_pod_that_cannot_get_its_image_fails_it_before_kfp_does(
    run: KindPlatform,
    step_identity: tuple[str, str],
    stand_in: tuple[KfpStandIn, str],
    waiter: Waiter,
    found_by: str,
) -> None:
    namespace, _ = step_identity
    workflow = pods.workflow_name("no-image")
    state, _url = stand_in
    by_name = found_by == "task pod name"
    # KFP says RUNNING throughout: only the pod's own status can end the wait early.
    train = task("train", "RUNNING", pod_name=f"{workflow}-train" if by_name else None)
    kfp_run = state.add_run(run.run_id, run_state("RUNNING", train))
    pods.apply(
        run,
        [
            pods.run_pod(
                run,
                name=f"{workflow}-train",
                namespace=namespace,
                workflow=workflow,
                task="train",
                image=pods.NOT_ON_THE_NODE,
                kfp_run_id=None if by_name else kfp_run,
            )
        ],
    )
    timeout = 60.0
    subject = waiter(kfp_run, timeout)
    started = time.monotonic()
    with pytest.raises(ClusterRunFailed, match="ErrImageNeverPull: step 'train'") as caught:
        subject.wait_step().run()
    assert time.monotonic() - started < timeout / 2, "it waited as if for a timeout"
    assert pods.NOT_ON_THE_NODE in str(caught.value)
    assert state.runs[kfp_run]["state"] == "RUNNING"  # KFP had said nothing yet
    assert subject.verdict is not None and subject.verdict.reason == "ErrImageNeverPull"


def test_a_run_that_never_finishes_times_out_with_what_was_seen(
    run: KindPlatform,
    step_identity: tuple[str, str],
    stand_in: tuple[KfpStandIn, str],
    waiter: Waiter,
) -> None:
    namespace, _ = step_identity
    workflow = pods.workflow_name("slow")
    name = f"{workflow}-train"
    pods.apply(
        run,
        [
            pods.run_pod(
                run,
                name=name,
                namespace=namespace,
                workflow=workflow,
                task="train",
                command=["sh", "-c", "sleep 600"],
            )
        ],
    )
    pods.wait_for_pod(run, name, namespace, "to run", pods.phase_is("Running"))
    state, _url = stand_in
    kfp_run = state.add_run(
        run.run_id, run_state("RUNNING", task("train", "RUNNING", pod_name=name))
    )
    subject = waiter(kfp_run, 6)
    with pytest.raises(ClusterRunFailed) as caught:
        subject.wait_step().run()
    message = str(caught.value)
    assert message.startswith("Timeout: KFP run")
    assert "running train" in message
    assert f"pod {name} Running" in message  # the real pod, as it was last seen
    assert subject.verdict is not None and subject.verdict.reason == "Timeout"
