"""Waiting on a KFP run (ClusterPlatform._wait_for_run) with the real Kubeflow Pipelines 2.17.0
on the tier's air-gapped cluster: tiny pipelines compiled here (cluster_tests/kfp_runs.py),
submitted through the harness's KfpApi, run by KFP's Argo workflow, driver and launcher.

What a real KFP 2.17 cannot be made to show stays in unit tests: a run's pods found by a
task's pod name (2.17 names Argo node ids there; its pods are found by their
``pipeline/runid`` label) in tests/test_kfp_classify.py, and API faults with the KFP
stand-in in tests/test_kfp_api.py.
"""

from __future__ import annotations

import time

import pytest

from cluster_tests import kfp_runs
from cluster_tests.conftest import Waiter
from cluster_tests.kfp_runs import Shell
from fixtures.created.kfp_resources import FINAL_STATES
from fixtures.kfp import classify
from fixtures.kfp.kfp_api import KfpApi
from fixtures.platforms.cluster_base import ClusterRunFailed
from fixtures.platforms.kind import KindPlatform
from kubekit.exceptions import NotReady
from kubekit.wait import wait_until

ERROR_LINE = "ERROR: no training data under /mnt/data"


def test_a_successful_run_reports_its_steps_and_phase_times(
    cluster: KindPlatform, run: KindPlatform, kfp: KfpApi, waiter: Waiter
) -> None:
    assert run.image
    kfp_run = kfp_runs.submit_steps(
        cluster,
        kfp,
        "ok",
        Shell("train", run.image, "echo loss=0.1; echo test_accuracy=0.9731"),
        Shell("serve", run.image, "true"),
        Shell("web-ui", run.image, "true"),
    )
    subject = waiter(kfp_run, 600)
    subject.wait_step().run()
    assert subject.verdict is not None and subject.verdict.state == "succeeded"
    assert subject.verdict.finished_steps == ("train", "serve", "web-ui")
    assert subject.train_accuracy == pytest.approx(0.9731)  # read from the train pod's log
    assert subject.clock.names()[:2] == ["train", "serve ready"]
    assert "ui ready" in subject.clock.names()
    train = next(p for p in subject.clock.phases if p.name == "train")
    assert train.end is not None  # the train phase ended when KFP said train succeeded


def test_a_failed_step_fails_the_wait_naming_the_step_and_its_error(
    cluster: KindPlatform, run: KindPlatform, kfp: KfpApi, waiter: Waiter
) -> None:
    assert run.image
    # The step reports why the Kubernetes way too: its termination message.
    script = f"echo 'loading data'; echo '{ERROR_LINE}' | tee /dev/termination-log >&2; exit 1"
    kfp_run = kfp_runs.submit_steps(
        cluster,
        kfp,
        "failed-step",
        Shell("train", run.image, script),
        Shell("serve", run.image, "true"),
    )
    subject = waiter(kfp_run, 600)
    with pytest.raises(ClusterRunFailed) as caught:
        subject.wait_step().run()
    message = str(caught.value)
    assert "step 'train'" in message and ERROR_LINE in message, message
    assert "exited 1" in message, message
    assert subject.verdict is not None and subject.verdict.failed_step == "train"

    # KFP itself then marks the run failed; the harness reads which step from its answer.
    # KFP 2.17 may show the run FAILED a moment before the task that failed (seen on the
    # tier), so the wait is for both.
    def kfp_names_the_failed_task() -> object:
        shown = kfp.get_run(kfp_run)
        if str(shown.state) not in FINAL_STATES or classify.failed_task(shown) is None:
            raise NotReady(f"KFP run {kfp_run} is {shown.state}, no task failed yet")
        return shown

    shown = wait_until(f"KFP run {kfp_run} to fail", kfp_names_the_failed_task, timeout=300)
    verdict = classify.run_verdict(shown)
    assert verdict.reason == "FailedStep" and verdict.failed_step == "train", verdict
    assert f"({kfp_run}) FAILED" in verdict.message, verdict


def test_a_run_that_cannot_get_its_image_fails_the_wait_before_kfp_does(
    cluster: KindPlatform, run: KindPlatform, kfp: KfpApi, waiter: Waiter
) -> None:
    missing = kfp_runs.NOT_ON_THE_NODE
    kfp_run = kfp_runs.submit_steps(
        cluster, kfp, "no-image", Shell("train", missing, "true", pull_never=True)
    )
    timeout = 300.0
    subject = waiter(kfp_run, timeout)
    started = time.monotonic()
    with pytest.raises(ClusterRunFailed, match="ErrImageNeverPull: step 'train'") as caught:
        subject.wait_step().run()
    assert time.monotonic() - started < timeout / 2, "it waited as if for a timeout"
    assert missing in str(caught.value)
    assert subject.verdict is not None and subject.verdict.reason == "ErrImageNeverPull"
    assert str(kfp.get_run(kfp_run).state) not in FINAL_STATES  # KFP had said nothing yet
    kfp.terminate_run(kfp_run)


def test_a_run_that_never_finishes_times_out_with_what_was_seen(
    cluster: KindPlatform, run: KindPlatform, kfp: KfpApi, waiter: Waiter
) -> None:
    assert run.image
    kfp_run = kfp_runs.submit_steps(
        cluster, kfp, "slow", Shell("train", run.image, "echo started; sleep 600")
    )
    pod = kfp_runs.wait_for_run_pod(
        run.api(),
        kfp_run,
        "running train's container",
        lambda p: kfp_runs.is_executor_of("train")(p) and p.status.phase == "Running",
    )
    subject = waiter(kfp_run, 15)
    with pytest.raises(ClusterRunFailed) as caught:
        subject.wait_step().run()
    message = str(caught.value)
    assert message.startswith("Timeout: KFP run"), message
    assert "not done after 15s" in message and "running train" in message, message
    assert f"pod {pod.metadata.name} Running" in message  # the real pod, as it was last seen
    assert subject.verdict is not None and subject.verdict.reason == "Timeout"
    kfp.terminate_run(kfp_run)  # its pod would hold a slot of the 2-core node until teardown
