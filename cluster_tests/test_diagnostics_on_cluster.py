"""Failure diagnostics (ClusterPlatform.collect_diagnostics) from real pods, events and logs
in the tier cluster, with the KFP run's details from the KFP API STAND-IN
(tests/support/kfp_stand_in.py: Kubeflow Pipelines cannot run on this machine).

Each test's platform has a ledger of its own holding only what that test's run would have
recorded (a namespace, a KFP run), so what is collected is that run's and nothing else; the
objects themselves are applied into the shared run's ledger, whose teardown deletes them.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client import V1Pod

from fixtures.cluster.kfp_api import KfpEndpoint
from fixtures.created.kfp_resources import KfpRun
from fixtures.created.kube_resources import Namespace
from fixtures.ledger import Ledger
from fixtures.phases import PhaseClock
from fixtures.platforms.kind import KindPlatform
from kubekit.constants import run_labels
from tests.support import kfp_run_pods as pods
from tests.support.kfp_stand_in import KfpStandIn, run_state, serving, task

SECRET_LINE = "Authorization: Bearer sekret-token"  # noqa: S105 - a planted secret to redact
KFP_TOKEN = "kfp-bearer-secret"  # noqa: S105 - a planted token to keep out


@pytest.fixture
def stand_in() -> Iterator[tuple[KfpStandIn, str]]:
    with serving() as served:
        yield served


def collector(run: KindPlatform, tmp_path: Path) -> KindPlatform:
    """A platform on the tier cluster whose ledger is this test's alone."""
    config = dataclasses.replace(run.config, artifacts_dir=tmp_path)
    return KindPlatform(config, run.run_id, Ledger(tmp_path / "ledger.jsonl"), PhaseClock())


def test_collect_writes_pods_events_logs_and_the_cause_redacted(
    run: KindPlatform, tmp_path: Path
) -> None:
    # A namespace of its own: the cause in failure.txt must be this pod's, not another test's.
    namespace = f"tier-diag-{secrets.token_hex(3)}"
    name = "crashing"
    crash = f"echo 'previous run: {SECRET_LINE}'; exit 3"
    pods.apply(
        run,
        [
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace, "labels": run_labels(run.run_id)},
            },
            pods.run_pod(
                run,
                name=name,
                namespace=namespace,
                workflow=pods.workflow_name("diag"),
                task="serve",
                command=["sh", "-c", crash],
                restart_policy="Always",
                container="tf-serving",
            ),
        ],
    )

    def restarted_and_backing_off(pod: V1Pod) -> bool:
        restarts = max((c.restart_count or 0 for c in pods.containers(pod)), default=0)
        return restarts >= 1 and pods.waiting_reason(pod) == "CrashLoopBackOff"

    pods.wait_for_pod(run, name, namespace, "to crash-loop", restarted_and_backing_off)
    subject = collector(run, tmp_path)
    subject.ledger.record(
        Namespace.entry(namespace, context=run.context, kubeconfig=run.kubeconfig)
    )
    dest = tmp_path / "diagnostics"
    written = subject.collect_diagnostics(dest)
    names = {p.relative_to(dest).as_posix() for p in written}
    pod_dir = f"{namespace}/logs/{name}"
    assert {
        f"{namespace}/pods.json",
        f"{namespace}/events.txt",
        f"{pod_dir}/tf-serving.log",
        f"{pod_dir}/tf-serving.previous.log",
        "failure.txt",
        "ledger.json",
    } <= names, names
    previous = (dest / pod_dir / "tf-serving.previous.log").read_text()
    assert "previous run: Authorization: Bearer" in previous  # the real log, it was read
    assert "sekret-token" not in previous and "[REDACTED]" in previous
    assert "sekret-token" not in (dest / namespace / "pods.json").read_text()
    failure = (dest / "failure.txt").read_text()
    assert failure.startswith("CrashLoopBackOff: "), failure
    assert "Back-off restarting failed container" in (dest / namespace / "events.txt").read_text()


def test_kfp_run_details_and_only_that_runs_pods_are_collected(
    run: KindPlatform,
    step_identity: tuple[str, str],
    stand_in: tuple[KfpStandIn, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MNIST_E2E_KFP_TOKEN", KFP_TOKEN)
    namespace, _ = step_identity
    mine, theirs = pods.workflow_name("mine"), pods.workflow_name("theirs")
    state, url = stand_in
    kfp_run = state.add_run(
        run.run_id, run_state("RUNNING", task("train", "RUNNING", pod_name=f"{mine}-train"))
    )
    pods.apply(
        run,
        [
            pods.run_pod(
                run,
                name=f"{mine}-train",
                namespace=namespace,
                workflow=mine,
                task="train",
                image=pods.NOT_ON_THE_NODE,
                container="train",
            ),
            # the run's driver pod: found through the workflow label it shares
            pods.run_pod(
                run,
                name=f"{mine}-train-driver",
                namespace=namespace,
                workflow=mine,
                task="train-driver",
                container="driver",
            ),
            # another run's pod in the same namespace: not this run's to collect
            pods.run_pod(
                run,
                name=f"{theirs}-train",
                namespace=namespace,
                workflow=theirs,
                task="train",
                command=["sh", "-c", "sleep 600"],
                container="train",
            ),
        ],
    )
    pods.wait_for_pod(
        run,
        f"{mine}-train",
        namespace,
        "to fail to get its image",
        lambda pod: pods.waiting_reason(pod) == "ErrImageNeverPull",
    )
    subject = collector(run, tmp_path)
    endpoint = KfpEndpoint(url=url, context=run.context, kubeconfig=run.kubeconfig)
    KfpRun.record(subject.ledger, run.run_id, id=kfp_run, endpoint=endpoint.to_dict())
    dest = tmp_path / "d"
    written = subject.collect_diagnostics(dest)
    names = {p.relative_to(dest).as_posix() for p in written}
    assert f"kfp-run-pods/logs/{mine}-train/train.log" in names, names
    assert f"kfp-run-pods/logs/{mine}-train-driver/driver.log" in names, names
    assert not any(theirs in name for name in names), names
    assert theirs not in (dest / "kfp-run-pods" / "pods.json").read_text()
    details = (dest / "kfp-run.json").read_text()
    assert f'"run_id": "{kfp_run}"' in details and KFP_TOKEN not in details
    # the token was really sent (to the stand-in), so keeping it out of the files mattered
    assert any(r.authorization == f"Bearer {KFP_TOKEN}" for r in state.requests)
    assert not any(KFP_TOKEN in p.read_text() for p in written)
    failure = (dest / "failure.txt").read_text()
    assert failure.startswith("ErrImageNeverPull: step 'train'"), failure
