"""Failure classification of cluster runs, on real kubernetes and kfp_server_api objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kfp_server_api import (
    V2beta1PipelineTaskDetail,
    V2beta1Run,
    V2beta1RunDetails,
)
from kubernetes.client import (
    V1ContainerState,
    V1ContainerStateTerminated,
    V1ContainerStatus,
    V1Deployment,
    V1ObjectMeta,
    V1Pod,
    V1ResourceRequirements,
)

from fixtures.kfp import classify
from fixtures.kfp.kfp_api import pipeline_spec_from_yaml
from kubekit.constants import PIPELINE_STEPS
from pipeline.compile import compile_pipeline
from tests.support import kube_objects as objects

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WORKFLOW = "workflows.argoproj.io/workflow"


def pod(
    name: str,
    *,
    waiting: str | None = None,
    message: str = "",
    phase: str = "Pending",
    restarts: int = 0,
    last_exit: int | None = None,
    unschedulable_for: timedelta | None = None,
    labels: dict[str, str] | None = None,
    image: str = "mnist-e2e:abc",
) -> V1Pod:
    """A KFP run's step pod (no controller) in ``kubeflow``, its one container ``main`` in the
    given state; unscheduled pods have no container status yet."""
    containers: list[V1ContainerStatus] = []
    conditions = []
    if unschedulable_for is not None:
        conditions.append(
            objects.unschedulable(
                NOW - unschedulable_for, "0/1 nodes are available: 1 Insufficient cpu."
            )
        )
    elif waiting:
        exited = (
            V1ContainerStateTerminated(exit_code=last_exit, reason="Error")
            if last_exit is not None
            else None
        )
        containers.append(objects.waiting(waiting, message, restarts, exited, "main", image))
    else:
        containers.append(objects.running(True, "main", image, restarts))
    return objects.pod(
        name,
        owner=None,
        namespace="kubeflow",
        labels=labels or {},
        phase=phase,
        containers=containers,
        conditions=conditions,
    )


def task(
    name: str, state: str, end_minute: int | None = None, **extra: object
) -> V2beta1PipelineTaskDetail:
    end = NOW + timedelta(minutes=end_minute) if end_minute is not None else None
    return V2beta1PipelineTaskDetail(display_name=name, state=state, end_time=end, **extra)


def run(state: str, tasks: list[V2beta1PipelineTaskDetail], error: object = None) -> V2beta1Run:
    return V2beta1Run(
        run_id="kfp-run-1",
        display_name="mnist-e2e-20261125t120000z-abcd",
        state=state,
        error=error,
        run_details=V2beta1RunDetails(task_details=tasks),
    )


# -- pod states ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("waiting", "message"),
    [
        ("ImagePullBackOff", 'Back-off pulling image "mnist-e2e:abc"'),
        ("ErrImagePull", "rpc error: manifest unknown"),
        ("CrashLoopBackOff", "back-off 40s restarting failed container"),
    ],
)
def test_a_fatal_waiting_reason_fails_the_run_naming_the_step(waiting: str, message: str) -> None:
    pods = [
        pod(
            "train-pod",
            waiting=waiting,
            message=message,
            labels={"pipelines.kubeflow.org/task_name": "train"},
        )
    ]
    verdict = classify.run_pods_failure(pods, NOW)
    assert verdict is not None
    assert verdict.reason == waiting
    assert verdict.failed_step == "train"
    assert waiting in verdict.message and message in verdict.message


def test_crash_loop_message_carries_the_last_exit_code() -> None:
    pods = [pod("web-ui-pod", waiting="CrashLoopBackOff", restarts=4, last_exit=3)]
    verdict = classify.run_pods_failure(pods, NOW)
    assert verdict is not None and verdict.failed_step == "web-ui"  # from the pod's name
    assert "exited 3" in verdict.message


def test_unschedulable_is_fatal_only_after_the_grace_period() -> None:
    young = [pod("serve-pod", unschedulable_for=timedelta(seconds=30))]
    old = [pod("serve-pod", unschedulable_for=timedelta(minutes=5))]
    assert classify.run_pods_failure(young, NOW) is None
    verdict = classify.run_pods_failure(old, NOW)
    assert verdict is not None and verdict.reason == "Unschedulable"
    assert "Insufficient cpu" in verdict.message


def ended_step_pod(name: str, exit_code: int, reason: str) -> V1Pod:
    """A KFP train step pod that failed: its container ``main`` ended with *exit_code*."""
    ended = V1ContainerStatus(
        name="main",
        image="mnist-e2e:abc",
        image_id="",
        ready=False,
        restart_count=0,
        state=V1ContainerState(
            terminated=V1ContainerStateTerminated(exit_code=exit_code, reason=reason)
        ),
    )
    return objects.pod(
        name,
        owner=None,
        namespace="kubeflow",
        labels={"pipelines.kubeflow.org/task_name": "train"},
        phase="Failed",
        containers=[ended],
    )


def test_a_step_killed_for_memory_is_oom_killed_naming_the_step_and_its_limit() -> None:
    failed = ended_step_pod("tier-oom-system-container-impl-1", 137, "OOMKilled")
    failed.spec.containers[0].resources = V1ResourceRequirements(limits={"memory": "128Mi"})
    verdict = classify.run_pods_failure([failed], NOW)
    assert verdict is not None and verdict.reason == "OOMKilled", verdict
    assert verdict.failed_step == "train"
    assert "killed for memory (OOMKilled) at its limit 128Mi" in verdict.message, verdict
    assert "exited 137" in verdict.message, verdict


def test_running_and_succeeded_pods_are_not_failures() -> None:
    pods = [pod("train-pod", phase="Running"), pod("driver", phase="Succeeded")]
    assert classify.run_pods_failure(pods, NOW) is None


def test_task_of_pod_reads_labels_then_annotations() -> None:
    labelled = pod("x", labels={"pipelines.kubeflow.org/task_name": "serve"})
    annotated = pod("y")
    annotated.metadata.annotations = {"workflows.argoproj.io/node-name": "wf.root.web-ui.executor"}
    assert classify.task_of_pod(labelled) == "serve"
    assert classify.task_of_pod(annotated) == "web-ui"
    assert classify.task_of_pod(pod("plain")) == "plain"


# -- KFP run states --------------------------------------------------------------------------


def test_succeeded_run_lists_its_steps_in_completion_order() -> None:
    verdict = classify.run_verdict(
        run(
            "SUCCEEDED",
            [
                task("web-ui", "SUCCEEDED", 9),
                task("train-driver", "SUCCEEDED", 0),
                task("train", "SUCCEEDED", 3),
                task("serve", "SUCCEEDED", 6),
                task("root", "SUCCEEDED", 10),
            ],
        )
    )
    assert verdict.state == "succeeded"
    assert verdict.finished_steps == ("train", "serve", "web-ui")


def test_a_run_succeeded_before_its_last_task_says_so_is_still_waited_for() -> None:
    early = run("SUCCEEDED", [task("train", "SUCCEEDED", 3), task("serve", "SUCCEEDED", 6)])
    verdict = classify.run_verdict(early)
    assert verdict.state == "running"
    assert "waiting for its tasks" in verdict.message
    assert verdict.finished_steps == ("train", "serve")
    decision, _ = classify.run_decision(early, [], NOW)
    assert not decision.done and not decision.failed


@pytest.mark.parametrize("platform", ["onprem", "gcp"])
def test_the_real_pipelines_spec_expects_all_three_steps(platform: str, tmp_path: Path) -> None:
    # onprem carries a platform spec (its PVC mounts), so KFP nests the pipeline's: both read
    compiled = compile_pipeline(platform, tmp_path / "p.yaml", "mnist-e2e:abc")
    spec = pipeline_spec_from_yaml(compiled.read_text(encoding="utf-8"))
    assert ("pipeline_spec" in spec) is (platform == "onprem")
    two_done = run("SUCCEEDED", [task("train", "SUCCEEDED", 3), task("serve", "SUCCEEDED", 6)])
    two_done.pipeline_spec = spec
    assert classify.expected_steps(two_done) == PIPELINE_STEPS
    assert classify.run_verdict(two_done).state == "running"  # web-ui has yet to say so


def test_a_two_step_pipeline_is_done_when_its_two_steps_are(tmp_path: Path) -> None:
    """The tier's fault pipelines are train → serve: waiting for a web-ui task their spec never
    had kept the wait going until its deadline."""
    from kfp import compiler, dsl

    def body() -> dsl.ContainerSpec:
        return dsl.ContainerSpec(image="mnist-e2e:abc", command=["true"])

    body.__annotations__["return"] = dsl.ContainerSpec  # KFP reads it as an object
    step = dsl.container_component(body)

    def two_steps() -> None:
        train = step().set_display_name("train")
        step().set_display_name("serve").after(train)

    two_steps.__annotations__.clear()  # a string "None" would read as an output artifact
    compiled = tmp_path / "p.yaml"
    compiler.Compiler().compile(dsl.pipeline(name="two-steps")(two_steps), str(compiled))
    done = run("SUCCEEDED", [task("train", "SUCCEEDED", 3), task("serve", "SUCCEEDED", 6)])
    done.pipeline_spec = pipeline_spec_from_yaml(compiled.read_text(encoding="utf-8"))
    assert classify.expected_steps(done) == ("train", "serve")
    verdict = classify.run_verdict(done)
    assert verdict.state == "succeeded" and verdict.finished_steps == ("train", "serve")


def test_failed_task_names_the_step_and_its_error() -> None:
    from kfp_server_api import GoogleRpcStatus

    failed = run(
        "FAILED",
        [
            task("train", "SUCCEEDED", 3),
            task(
                "serve",
                "FAILED",
                5,
                error=GoogleRpcStatus(message="no model version under /mnt/export"),
            ),
        ],
    )
    verdict = classify.run_verdict(failed)
    assert (verdict.state, verdict.reason, verdict.failed_step) == ("failed", "FailedStep", "serve")
    assert "no model version under /mnt/export" in verdict.message
    assert verdict.finished_steps == ("train",)


def test_canceled_run_says_it_was_canceled() -> None:
    verdict = classify.run_verdict(run("CANCELED", [task("train", "CANCELED")]))
    assert verdict.state == "failed" and "canceled" in verdict.message


def test_running_run_says_what_runs() -> None:
    verdict = classify.run_verdict(run("RUNNING", [task("train", "RUNNING")]))
    assert verdict.state == "running" and not verdict.done
    assert "running train" in verdict.message


def test_timeout_verdict_says_what_was_seen_and_the_pods() -> None:
    last = classify.run_verdict(
        run("RUNNING", [task("train", "SUCCEEDED", 2), task("serve", "RUNNING")])
    )
    verdict = classify.timeout_verdict(
        "KFP run r", 1200, last, [pod("serve-pod", waiting="ContainerCreating")]
    )
    assert verdict.reason == "Timeout"
    assert "1200s" in verdict.message and "running serve" in verdict.message
    assert "serve-pod" in verdict.message and "ContainerCreating" in verdict.message
    assert verdict.finished_steps == ("train",)


# -- which pods are the run's, and the combined decision ---------------------------------------


def test_pods_of_run_finds_siblings_through_the_workflow_label() -> None:
    mine = pod("wf-a-train-123", labels={WORKFLOW: "wf-a"})
    sibling = pod("wf-a-driver-9", labels={WORKFLOW: "wf-a"})
    labelled = pod("other-name", labels={"pipeline/runid": "kfp-run-1"})
    stranger = pod("wf-b-train-1", labels={WORKFLOW: "wf-b"}, waiting="ImagePullBackOff")
    the_run = run("RUNNING", [task("train", "RUNNING", pod_name="wf-a-train-123")])
    found = classify.pods_of_run([mine, sibling, labelled, stranger], the_run)
    assert {p.metadata.name for p in found} == {"wf-a-train-123", "wf-a-driver-9", "other-name"}


def test_run_decision_ignores_another_runs_failing_pod() -> None:
    the_run = run("RUNNING", [task("train", "RUNNING", pod_name="mine")])
    stranger = pod("theirs", waiting="ImagePullBackOff", labels={WORKFLOW: "other"})
    decision, verdict = classify.run_decision(the_run, [pod("mine"), stranger], NOW)
    assert not decision.done and decision.failed is None
    assert verdict.state == "running"


def test_run_decision_fails_fast_on_the_runs_image_pull_error() -> None:
    the_run = run("RUNNING", [task("train", "RUNNING", pod_name="mine")])
    failing = pod("mine", waiting="ErrImagePull", message="pull access denied")
    decision, verdict = classify.run_decision(the_run, [failing], NOW)
    assert decision.failed is not None and decision.failed.startswith("ErrImagePull:")
    assert "pull access denied" in decision.failed
    assert verdict.reason == "ErrImagePull"


def test_run_decision_done_on_success_and_failed_on_a_failed_step() -> None:
    ok = run("SUCCEEDED", [task(s, "SUCCEEDED", i) for i, s in enumerate(PIPELINE_STEPS)])
    bad = run("FAILED", [task("train", "FAILED")])
    assert classify.run_decision(ok, [], NOW)[0].done
    decision, _ = classify.run_decision(bad, [], NOW)
    assert decision.failed is not None and decision.failed.startswith("FailedStep:")


def test_train_pod_and_accuracy() -> None:
    the_run = run(
        "SUCCEEDED",
        [task("train-driver", "SUCCEEDED", pod_name="d"), task("train", "SUCCEEDED", pod_name="t")],
    )
    assert classify.train_pod_name(the_run) == "t"
    # KFP 2.17: no pod name in the task details; the pod of Argo's train executor node
    unnamed = run("SUCCEEDED", [task("train", "SUCCEEDED")])
    unnamed.run_id = "r1"

    def pod(name: str, node: str) -> V1Pod:
        return V1Pod(
            metadata=V1ObjectMeta(
                name=name,
                labels={"pipeline/runid": "r1", "workflows.argoproj.io/workflow": "wf"},
                annotations={"workflows.argoproj.io/node-name": node},
            )
        )

    pods = [
        pod("wf-system-container-driver-1", "wf(0).root(0).train-driver(0)"),
        pod("wf-system-container-impl-2", "wf(0).root(0).train(0).executor(0)"),
        pod("wf-system-container-impl-3", "wf(0).root(0).serve(0).executor(0)"),
    ]
    assert classify.train_pod_name(unnamed, pods) == "wf-system-container-impl-2"
    assert classify.train_pod_name(unnamed, pods[::2]) is None
    assert classify.accuracy_from_log(
        "step 1\ntest_accuracy=0.5\ntest_accuracy=0.9712\n"
    ) == pytest.approx(0.9712)
    assert classify.accuracy_from_log("no metric here") is None


# -- the KFP install -------------------------------------------------------------------------


def deployment(
    name: str,
    image: str = "ghcr.io/kubeflow/kfp-api-server:2.17.0",
    *,
    available: int = 1,
    generation: int = 1,
    observed: int = 1,
) -> V1Deployment:
    """One of KFP's one-replica Deployments in ``kubeflow``."""
    return objects.deployment(
        name=name,
        namespace="kubeflow",
        image=image,
        generation=generation,
        observed=observed,
        updated=available,
        available=available,
    )


def test_installed_kfp_version_reads_the_api_server_tag() -> None:
    assert classify.installed_kfp_version([deployment("ml-pipeline")]) == "2.17.0"
    assert classify.installed_kfp_version([deployment("minio")]) is None


def test_kfp_ready_waits_for_every_deployment() -> None:
    assert not classify.kfp_ready([]).done
    pending = classify.kfp_ready([deployment("ml-pipeline"), deployment("mysql", available=0)])
    assert not pending.done and "mysql" in pending.status
    stale = classify.kfp_ready([deployment("ml-pipeline", generation=2, observed=1)])
    assert not stale.done
    assert classify.kfp_ready([deployment("ml-pipeline"), deployment("mysql")]).done


def test_install_blocker_tolerates_early_restarts_but_not_a_missing_image() -> None:
    starting = pod("ml-pipeline-x", waiting="CrashLoopBackOff", restarts=2)
    assert classify.install_blocker([starting]) is None
    looping = pod(
        "ml-pipeline-x", waiting="CrashLoopBackOff", restarts=classify.INSTALL_CRASH_RESTARTS
    )
    assert "keeps crashing" in (classify.install_blocker([looping]) or "")
    rate_limited = pod("minio-x", waiting="ImagePullBackOff", message="toomanyrequests: rate limit")
    assert classify.install_blocker([rate_limited]) is None
    missing = pod("minio-x", waiting="ErrImagePull", message="manifest unknown")
    assert "cannot pull" in (classify.install_blocker([missing]) or "")


def test_kfp_2_17_iteration_names_are_the_steps_tasks() -> None:
    assert classify.step_of_task("train(0)") == "train"
    assert classify.step_of_task("web-ui-driver(0)") == "web-ui"
    assert classify.step_of_task("executor(0)") is None


def test_the_train_pod_is_found_by_its_argo_node_as_kfp_2_17_names_it() -> None:
    # KFP 2.17's task details name Argo node ids, not pods (seen on the air-gapped cluster):
    # the executor pod is found among the run's pods by its node-name annotation.
    the_run = run("SUCCEEDED", [task("train", "SUCCEEDED", child_tasks=[{"pod_name": "wf-1"}])])
    labels = {"pipeline/runid": "kfp-run-1", WORKFLOW: "wf"}
    driver = pod("wf-system-container-driver-1", phase="Succeeded", labels=labels)
    driver.metadata.annotations = {
        "workflows.argoproj.io/node-name": "wf(0).root(0).train-driver(0)"
    }
    executor = pod("wf-system-container-impl-2", phase="Succeeded", labels=labels)
    executor.metadata.annotations = {
        "workflows.argoproj.io/node-name": "wf(0).root(0).train(0).executor(0)"
    }
    assert classify.train_pod_name(the_run, [driver, executor]) == executor.metadata.name


def test_a_step_container_that_exits_non_zero_is_a_failed_step_naming_its_pod() -> None:
    failed = ended_step_pod("tier-x-system-container-impl-2", 1, "Error")
    verdict = classify.run_pods_failure([failed], NOW)
    assert verdict is not None and verdict.reason == "FailedStep", verdict
    assert verdict.failed_step == "train" and verdict.failed_pod == failed.metadata.name
    assert "exited 1 (Error)" in verdict.message, verdict


@pytest.mark.parametrize(
    ("log", "line"),
    [
        (
            "downloading x\nerror: could not download train-images-idx3-ubyte.gz into /d:\n"
            "  https://mirror: <urlopen error [Errno -3] Temporary failure in name resolution>\n"
            "Fix: put the MNIST files into /d\n",
            "error: could not download train-images-idx3-ubyte.gz into /d:",
        ),
        (
            "loading\nTraceback (most recent call last):\n  File x\nValueError: bad\n",
            "ValueError: bad",
        ),
        ("step one\nstep two\n\n", "step two"),
        (
            "error: no data\nI1205 07:03:42.123456      18 launcher_v2.go:151] publish\n"
            "F1205 07:03:42.2 main.go:58] failed to execute component: exit status 1\n"
            "Error: exit status 1\n",
            "error: no data",
        ),
        (
            "error: no data\n"
            'time=2026-12-05T07:36:43.662Z level=INFO msg="sub-process exited" argo=true'
            ' error="exit status 1"\n',
            "error: no data",
        ),
        ("holding 1 GiB\nError: exit status 1\n", "holding 1 GiB"),
        ("", None),
    ],
)
def test_error_line_is_the_last_line_naming_an_error(log: str, line: str | None) -> None:
    assert classify.error_line(log) == line
