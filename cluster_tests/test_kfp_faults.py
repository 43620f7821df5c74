"""Kubeflow Pipelines' own pods deleted under a KFP run in flight, on the tier's real KFP 2.17:
the run goes on in Argo, the harness's wait (ClusterPlatform._wait_for_run) rides through and
reports the run's real outcome, and the run's log says what it saw of the fault.

Each fault gets a run of its own: a pipeline of the harness's step names (train → serve) in
the project image, its train step long enough for the pod to be deleted while it runs and for
the replacement to come up before the run ends. The pod goes while train's container runs.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Final

import pytest
from kubernetes import client as k8s

from cluster_tests import kfp_runs
from cluster_tests.conftest import Waiter
from cluster_tests.kfp_runs import Shell
from fixtures.cluster.kfp_api import KfpApi
from fixtures.created import teardown_plan
from fixtures.ledger import Ledger
from fixtures.platforms.kind import KindPlatform
from kubekit.constants import PIPELINE_NAMESPACE
from kubekit.exceptions import NotReady
from kubekit.wait import wait_until

# The pods deleted, by the labels KFP's manifests give them (the render keeps them).
KFP_PODS: Final = {
    "api-server": "app=ml-pipeline",
    "persistence-agent": "app=ml-pipeline-persistenceagent",
    "mlmd-stand-in": "component=metadata-grpc-server",
}
TRAIN_SECONDS: Final = 75  # long enough that the replacement is up before train ends


def delete_and_replace(core: k8s.CoreV1Api, selector: str) -> float:
    """Delete the pods *selector* picks in KFP's namespace, wait until a new one is Ready;
    the seconds that took."""
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


@pytest.mark.parametrize("target", sorted(KFP_PODS))
def test_a_run_rides_through_a_kfp_pod_deleted_while_it_trains(
    cluster: KindPlatform,
    run: KindPlatform,
    kfp: KfpApi,
    waiter: Waiter,
    target: str,
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
    kfp_run = kfp_runs.submit(kfp, ledger, run.kfp_endpoint(), spec).kfp_run_id
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
        replaced_in = delete_and_replace(k8s.CoreV1Api(run.api()), KFP_PODS[target])
        waiting.join(timeout=900)
        assert not waiting.is_alive(), "the wait did not end"
        assert failure == [], f"the wait failed under a {target} restart: {failure}"
        assert subject.verdict is not None and subject.verdict.state == "succeeded"
        assert subject.verdict.finished_steps == ("train", "serve")
        assert subject.train_accuracy == pytest.approx(0.9731)
        assert subject.run_poller is not None
        if target == "api-server":
            # the API was away while its pod came back, and the run's log says for how long
            assert subject.run_poller.outages, "the wait never saw the API away"
            log = (subject.root / "steps.log").read_text(encoding="utf-8")
            assert "KFP API unreachable" in log and "KFP API back after" in log, log[-2000:]
        assert str(kfp.get_run(kfp_run).state) == "SUCCEEDED"  # nothing of the run lost
        print(f"{target}: replaced in {replaced_in:.0f}s; API away {subject.run_poller.outages}")
    finally:
        teardown_plan.teardown(ledger.resources())
    assert teardown_plan.leftovers(ledger.resources()) == []
