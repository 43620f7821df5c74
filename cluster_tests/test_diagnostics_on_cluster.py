"""Failure diagnostics (ClusterPlatform.collect_diagnostics) from real pods, events and logs
in the tier cluster, and of a real failed Kubeflow Pipelines run: its details from the real
KFP API, its pods' logs and events.

An external KFP endpoint's bearer token kept out of the files is a unit test with the KFP
stand-in (tests/test_platform_diagnostics.py): KFP standalone behind a port-forward takes none.

Each test's platform has a ledger of its own holding only what that test's run would have
recorded (a namespace, a KFP run), so what is collected is that run's and nothing else; the
objects themselves are applied into the shared run's ledger, whose teardown deletes them.
"""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path

from kubernetes.client import V1Pod

from cluster_tests import kfp_runs
from cluster_tests.kfp_runs import Shell
from fixtures.created.kfp_resources import KfpRun
from fixtures.created.kube_resources import CreatedNamespace
from fixtures.kfp.kfp_api import KfpApi
from fixtures.ledger import Ledger
from fixtures.phases import PhaseClock
from fixtures.platforms.kind import KindPlatform
from kubekit.constants import run_labels
from tests.support import kfp_run_pods as pods

SECRET_LINE = "Authorization: Bearer sekret-token"  # noqa: S105 - a planted secret to redact
ERROR_LINE = "ERROR: the model server refused the export"


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
        CreatedNamespace.entry(namespace, context=run.context, kubeconfig=run.kubeconfig)
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


def test_a_failed_kfp_runs_details_and_only_its_pods_are_collected_redacted(
    cluster: KindPlatform, run: KindPlatform, kfp: KfpApi, tmp_path: Path
) -> None:
    assert run.image
    endpoint = run.kfp_endpoint()
    crash = f"echo 'calling the server with {SECRET_LINE}'; echo '{ERROR_LINE}' >&2; exit 1"
    mine, theirs = (
        kfp_runs.submit(
            kfp,
            cluster.ledger,  # KFP's objects go with the cluster
            endpoint,
            kfp_runs.pipeline_spec(
                kfp_runs.pipeline_name(prefix), [Shell("train", run.image, script)]
            ),
        )
        for prefix, script in (("mine", crash), ("theirs", "echo fine"))
    )
    ended: dict[str, V1Pod] = {}
    for submitted in (mine, theirs):
        ended[submitted.kfp_run_id] = kfp_runs.wait_for_run_pod(
            run.api(),
            submitted.kfp_run_id,
            "to run train and end",
            lambda p: (
                kfp_runs.is_executor_of("train")(p) and p.status.phase in ("Succeeded", "Failed")
            ),
        )
    executor = ended[mine.kfp_run_id].metadata.name
    assert ended[mine.kfp_run_id].status.phase == "Failed"
    mine_pods = [p.metadata.name for p in kfp_runs.run_pods(run.api(), mine.kfp_run_id)]
    theirs_pods = [p.metadata.name for p in kfp_runs.run_pods(run.api(), theirs.kfp_run_id)]
    assert theirs_pods, "the other run made no pods: nothing shows they are left out"

    subject = collector(run, tmp_path)
    KfpRun.record(subject.ledger, mine.run_id, id=mine.kfp_run_id, endpoint=endpoint.to_dict())
    dest = tmp_path / "d"
    written = subject.collect_diagnostics(dest)
    names = {p.relative_to(dest).as_posix() for p in written}
    assert f"kfp-run-pods/logs/{executor}/main.log" in names, names
    for name in mine_pods:  # the drivers' pods too, found by the run's label
        assert any(n.startswith(f"kfp-run-pods/logs/{name}/") for n in names), (name, names)
    assert not any(name in n for name in theirs_pods for n in names), names
    assert not any(
        name in (dest / "kfp-run-pods" / "pods.json").read_text() for name in theirs_pods
    )
    assert "kfp-run-pods/events.txt" in names, names
    log = (dest / "kfp-run-pods" / "logs" / executor / "main.log").read_text()
    assert ERROR_LINE in log and "calling the server with Authorization: Bearer" in log, log
    details = (dest / "kfp-run.json").read_text()
    assert f'"run_id": "{mine.kfp_run_id}"' in details, details[:2000]
    # the secret was in the step's log and in the pipeline spec KFP answers with: redacted
    assert not any("sekret-token" in p.read_text() for p in written)
    assert "[REDACTED]" in log
    failure = (dest / "failure.txt").read_text()
    assert "step 'train'" in failure.splitlines()[0], failure
    assert "KFP run: " in failure, failure
