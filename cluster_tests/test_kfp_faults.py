"""Faults during a KFP run in flight, on the tier's real KFP 2.17 (its Argo, driver, launcher,
MLMD stand-in), each on a run of its own:

- KFP's own pods deleted while train runs, its database's too: the run goes on in Argo, the
  harness's wait (ClusterPlatform._wait_for_run) rides through, reports the run's real
  outcome, KFP keeps the run and its experiment (the database's data is on the node, not in
  its pod), and the run's log says what it saw of the fault (the API away, and for how long);
- a step killed for memory and a step whose program exits non-zero: the wait fails at once,
  classified (``OOMKilled``, ``FailedStep``), naming the step and why.

The pipelines carry the harness's step names (train → serve) in the project image; the
ride-through train step lasts long enough for the deleted pod's replacement to come up.
After each test its KFP run and experiment are deleted and checked gone.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import pytest
from kubernetes import client as k8s

from cluster_tests import fault_times, kfp_runs
from cluster_tests.conftest import Waiter
from cluster_tests.kfp_runs import Shell
from fixtures.created import teardown_plan
from fixtures.kfp.kfp_api import KfpApi
from fixtures.ledger import Ledger
from fixtures.platforms import diagnostics
from fixtures.platforms.cluster_base import ClusterRunFailed
from fixtures.platforms.kind import KindPlatform
from kubekit.constants import PIPELINE_NAMESPACE
from kubekit.exceptions import NotReady
from kubekit.wait import wait_until

# Seven KFP runs, about 13 minutes: in `tox -e cluster` (and CI), or alone in `tox -e cluster-faults`.
pytestmark = pytest.mark.kfp_faults

# The pods deleted, by the labels KFP's manifests give them (the render keeps them). The
# database's comes back on the node directory the render mounts (kubekit's KFP_DB_NODE_DIR);
# the API server's pool (Go's database/sql) drops the dead connections and opens new ones.
KFP_PODS: Final = {
    "api-server": "app=ml-pipeline",
    "database": "app=mysql",
    "persistence-agent": "app=ml-pipeline-persistenceagent",
    "mlmd-stand-in": "component=metadata-grpc-server",
}
HOLDING: Final = "train: holding 1 GiB in a 256M container"
TRAIN_SECONDS: Final = 75  # long enough that the replacement is up before train ends
REPEAT: Final = fault_times.repeat()


def delete_and_replace(core: k8s.CoreV1Api, selector: str) -> float:
    """Delete the pods *selector* picks in KFP's namespace, wait until a new one is Ready;
    the seconds that took. The database's Ready is the render's probe: it takes connections."""
    started = time.monotonic()
    old = {
        p.metadata.uid
        for p in core.list_namespaced_pod(PIPELINE_NAMESPACE, label_selector=selector).items
    }
    assert old, f"no pod {selector} in {PIPELINE_NAMESPACE} to delete"
    core.delete_collection_namespaced_pod(
        PIPELINE_NAMESPACE, label_selector=selector, grace_period_seconds=0
    )

    def replaced() -> None:
        pods = core.list_namespaced_pod(PIPELINE_NAMESPACE, label_selector=selector).items
        ready = [
            p
            for p in pods
            if p.metadata.uid not in old
            and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
        ]
        if not ready:
            seen = ", ".join(f"{p.metadata.name} {p.status.phase}" for p in pods) or "none"
            raise NotReady(f"no new Ready pod {selector}; pods: {seen}")

    wait_until(f"a new pod {selector} Ready", replaced, timeout=300)
    return time.monotonic() - started


# "none": the same run with no fault, the wait seeing the API throughout (and the
# benchmark's baseline). $MNIST_E2E_FAULT_REPEAT repeats each (the benchmark's median of 3).
RIDES: Final = [
    pytest.param(target, n, id=f"{target}-{n}" if REPEAT > 1 else target)
    for target in ("none", *sorted(KFP_PODS))
    for n in range(REPEAT)
]


@pytest.mark.parametrize(("target", "attempt"), RIDES)
def test_a_run_rides_through_a_kfp_pod_deleted_while_it_trains(
    run: KindPlatform,
    kfp: KfpApi,
    waiter: Waiter,
    target: str,
    attempt: int,
    tmp_path: Path,
) -> None:
    assert run.image
    ledger = Ledger(tmp_path / "ledger.jsonl")  # this run's KFP objects: deleted and checked here
    spec = kfp_runs.pipeline_spec(
        kfp_runs.pipeline_name(f"ride-{target}"),
        [
            Shell("train", run.image, f"sleep {TRAIN_SECONDS}; echo test_accuracy=0.9731"),
            Shell("serve", run.image, "true"),
        ],
    )
    submitted = time.monotonic()
    created = kfp_runs.submit(kfp, ledger, run.kfp_endpoint(), spec)
    kfp_run = created.kfp_run_id
    try:
        kfp_runs.wait_for_run_pod(
            run.api(),
            kfp_run,
            "running train's container",
            lambda p: kfp_runs.is_executor_of("train")(p) and p.status.phase == "Running",
        )
        subject = waiter(kfp_run, 900)
        failure: list[BaseException] = []

        def wait() -> None:
            try:
                subject.wait_step().run()
            except BaseException as exc:  # handed to the test's thread
                failure.append(exc)

        waiting = threading.Thread(target=wait, name="run-wait", daemon=True)
        waiting.start()
        replaced_in = (
            delete_and_replace(k8s.CoreV1Api(run.api()), KFP_PODS[target])
            if target in KFP_PODS
            else None
        )
        waiting.join(timeout=900)
        run_seconds = time.monotonic() - submitted
        assert not waiting.is_alive(), "the wait did not end"
        assert failure == [], f"the wait failed under a {target} restart: {failure}"
        assert subject.verdict is not None and subject.verdict.state == "succeeded"
        assert subject.verdict.finished_steps == ("train", "serve")
        assert subject.train_accuracy == pytest.approx(0.9731)
        assert subject.run_poller is not None
        outages = subject.run_poller.outages
        if target == "api-server":
            # the API was away while its pod came back, and the run's log says for how long
            assert outages, "the wait never saw the API away"
            log = (subject.root / "steps.log").read_text(encoding="utf-8")
            assert "KFP API unreachable" in log and "KFP API back after" in log, log[-2000:]
        elif target == "none":
            assert outages == [], f"the wait saw the API away with no fault: {outages}"
        assert str(kfp.get_run(kfp_run).state) == "SUCCEEDED"  # nothing of the run lost
        # nor of its experiment: a database that came back empty has neither
        in_experiment = [r.run_id for r in kfp.list_runs(created.experiment_id)]
        assert in_experiment == [kfp_run], f"experiment {created.experiment_id}: {in_experiment}"
        fault_times.record(
            {
                "fault": target,
                "attempt": attempt,
                "run_seconds": run_seconds,
                "replaced_seconds": replaced_in,
                "api_away_seconds": outages,
            }
        )
    finally:
        teardown_plan.teardown(ledger.resources())
    assert teardown_plan.leftovers(ledger.resources()) == []


def failed_wait(subject: KindPlatform) -> tuple[str, datetime]:
    """Run the wait, which must fail: its message and when it failed."""
    with pytest.raises(ClusterRunFailed) as caught:
        subject.wait_step().run()
    return str(caught.value), datetime.now(UTC)


def test_a_train_step_killed_for_memory_is_oom_killed_with_its_log_in_diagnostics(
    run: KindPlatform, kfp: KfpApi, waiter: Waiter, tmp_path: Path
) -> None:
    assert run.image
    ledger = Ledger(tmp_path / "ledger.jsonl")
    script = f"echo '{HOLDING}'; python -c 'b = bytearray(1 << 30); print(len(b))'"
    spec = kfp_runs.pipeline_spec(
        kfp_runs.pipeline_name("oom"),
        [
            Shell("train", run.image, script, memory_limit="256M"),
            Shell("serve", run.image, "true"),
        ],
    )
    kfp_run = kfp_runs.submit(kfp, ledger, run.kfp_endpoint(), spec).kfp_run_id
    try:
        subject = waiter(kfp_run, 600)
        message, failed_at = failed_wait(subject)
        verdict = subject.verdict
        assert verdict is not None and verdict.reason == "OOMKilled", message
        assert verdict.failed_step == "train" and verdict.failed_pod, verdict
        assert "OOMKilled: step 'train'" in message and "limit 256M" in message, message
        pod = k8s.CoreV1Api(run.api()).read_namespaced_pod(verdict.failed_pod, PIPELINE_NAMESPACE)
        (main,) = [c for c in pod.status.container_statuses if c.name == "main"]
        killed_at = main.state.terminated.finished_at
        # the bound: classified within a minute of the kill, not at a timeout
        assert failed_at - killed_at < timedelta(seconds=60), (killed_at, failed_at)
        diagnostics.collect(ledger.resources(), tmp_path / "diagnostics")
        step_log = tmp_path / "diagnostics" / "kfp-run-pods" / "logs" / pod.metadata.name
        assert HOLDING in (step_log / "main.log").read_text(encoding="utf-8")
        assert "OOMKilled" in (tmp_path / "diagnostics" / "failure.txt").read_text()
    finally:
        teardown_plan.teardown(ledger.resources())
    assert teardown_plan.leftovers(ledger.resources()) == []


def test_training_on_a_data_dir_without_mnist_is_a_failed_step_with_its_error_line(
    run: KindPlatform, kfp: KfpApi, waiter: Waiter, tmp_path: Path
) -> None:
    """The project's own training program, air-gapped, on an empty data dir: it cannot
    download MNIST and exits non-zero, saying so in its log (its only account of why)."""
    assert run.image
    ledger = Ledger(tmp_path / "ledger.jsonl")
    train = (
        "mkdir -p /tmp/no-mnist && python -m model.train --tf-data-dir /tmp/no-mnist"
        " --tf-export-dir /tmp/export --tf-train-steps 1"
    )
    spec = kfp_runs.pipeline_spec(
        kfp_runs.pipeline_name("no-mnist"),
        [Shell("train", run.image, train), Shell("serve", run.image, "true")],
    )
    kfp_run = kfp_runs.submit(kfp, ledger, run.kfp_endpoint(), spec).kfp_run_id
    try:
        subject = waiter(kfp_run, 600)
        message, _ = failed_wait(subject)
        assert subject.verdict is not None and subject.verdict.reason == "FailedStep", message
        assert "FailedStep: step 'train'" in message and "exited 1" in message, message
        assert (
            "its log says: error: could not download train-images-idx3-ubyte.gz into /tmp/no-mnist"
            in message
        ), message
    finally:
        teardown_plan.teardown(ledger.resources())
    assert teardown_plan.leftovers(ledger.resources()) == []
