"""A CI runner's ``kill -9`` of the harness while its real pipeline trains in KFP: no teardown
runs, so the run's namespace, volumes, node directory and KFP run stay behind, all but its
port-forward supervisors, which see their harness gone and stop themselves and their kubectl.
Then ``python -m fixtures janitor --older-than 0s`` removes everything labelled and spares an
unlabelled decoy named like a run.

A TTL of 0s takes every labelled object on the cluster, the shared run's and the other
tests' too, so the test runs after every test that uses them (``last``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import kfp_server_api
import psutil
import pytest

from ci.airgap.manifest import Manifest
from cluster_tests import harness_runs, kfp_runs
from cluster_tests.conftest import ROOT, kind_clusters
from fixtures import processes
from fixtures.created import teardown_plan
from fixtures.kfp.kfp_api import KfpApi
from fixtures.ledger import Ledger
from fixtures.naming import new_run_id
from fixtures.platforms.kind import KindPlatform
from fixtures.tools.portforward import read_status
from kubekit import objects
from kubekit.constants import RUN_ID_LABEL
from kubekit.wait import until

pytestmark = pytest.mark.kfp_faults

# A supervisor sees its harness gone within a turn of its loop (at most its 5 s check), then
# gives kubectl 5 s to stop: a minute is room for a loaded machine, not a measurement.
ORPHANS_STOP_SECONDS: Final = 60


@contextlib.contextmanager
def decoys(api: Any, kfp: KfpApi) -> Iterator[tuple[str, str]]:
    """A namespace named like a run with its run-id label but not managed-by, and a KFP
    experiment named like a run without the harness's marker: (namespace, experiment id).
    Deleted on exit, whatever the janitor did."""
    name = new_run_id()
    namespace = objects.Namespace(api, name)
    namespace.create(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {RUN_ID_LABEL: name}},
        }
    )
    try:
        experiment = kfp.experiments.experiment_service_create_experiment(
            kfp_server_api.V2beta1Experiment(display_name=name)
        ).experiment_id
        try:
            yield name, experiment
        finally:
            kfp.delete_experiment(experiment)
    finally:
        namespace.delete()


def forwards_of(run_dir: Path) -> list[psutil.Process]:
    """The run's port-forward supervisors its ledger records, and their kubectl, alive now."""
    found = []
    for entry in harness_runs.recorded(run_dir, processes.LEDGER_KIND):
        with contextlib.suppress(psutil.NoSuchProcess):
            leader = psutil.Process(entry.details["pid"])
            born = entry.details.get("create_time")  # None: it was gone when recorded
            if born is not None and abs(leader.create_time() - born) < 0.01:  # not a reused pid
                found += [leader, *leader.children(recursive=True)]
    return found


def naming(run_id: str) -> list[str]:
    """The processes on this machine whose command line names *run_id*."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            line = " ".join(proc.cmdline())
            if run_id in line and proc.pid != os.getpid():
                found.append(f"{proc.pid}: {line}")
    return found


def janitor(run: KindPlatform) -> str:
    """``python -m fixtures janitor --older-than 0s`` on the tier's cluster, as a user runs it;
    its output. ``--airgap``: the janitor asks the air-gapped build's kind (never on PATH)
    whether the cluster exists."""
    ran = subprocess.run(
        [
            sys.executable, "-m", "fixtures", "janitor", "--platform", "kind",
            "--airgap", "--kind-cluster", run.cluster, "--older-than", "0s",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    assert ran.returncode == 0, f"the janitor failed:\n{ran.stdout}{ran.stderr}"
    return ran.stdout


def sigkill(harness: subprocess.Popen[str], run_dir: Path) -> None:
    """``kill -9`` of the harness's pytest process alone, as a CI runner's timeout does; its
    port-forwards (in sessions of their own, so out of reach of any group kill) must stop
    themselves and their kubectl."""
    forwards = forwards_of(run_dir)
    assert forwards, f"no port-forward of the run is running ({run_dir}/ledger.jsonl)"
    harness.send_signal(signal.SIGKILL)
    harness.wait(timeout=60)
    _, alive = psutil.wait_procs(forwards, timeout=ORPHANS_STOP_SECONDS)
    assert alive == [], f"port-forward processes outlived their harness: {alive}"
    for status_file in (run_dir / "logs").glob("port-forward-*.json"):
        status = read_status(status_file)
        assert status["state"] == "stopped", (status_file, status)
        assert status["detail"].startswith("orphaned: the harness"), (status_file, status)


@pytest.mark.last(1)  # after test_janitor_kfp (last(0)), the last to use the shared run
def test_a_sigkilled_harness_leaves_nothing_after_the_janitor_and_a_decoy_survives(
    built: Manifest, run: KindPlatform, kfp: KfpApi, tmp_path: Path
) -> None:
    artifacts = tmp_path / "artifacts"
    cleaned = False
    with decoys(run.api(), kfp) as (decoy, decoy_experiment):
        harness = harness_runs.start(run.cluster, artifacts, own_group=True)
        try:
            kfp_run = harness_runs.wait_for_train(harness, artifacts, run.api())
            run_dir = harness_runs.run_dir_of(artifacts)
            assert run_dir is not None
            run_id = run_dir.name
            sigkill(harness, run_dir)
            ledger = Ledger(run_dir / "ledger.jsonl")  # written as things were created
            kinds = {r.kind for r in ledger}
            made = {"namespace", "k8s-object", "node-dir", "process", "kfp-experiment", "kfp-run"}
            assert made <= kinds, kinds
            assert [r.details["created"] for r in ledger if r.kind == "kind-cluster"] == [False]
            left = teardown_plan.leftovers(ledger.resources())
            assert any(f"namespace {run_id}" in line for line in left), left  # no teardown ran

            out = janitor(run)
            cleaned = True
            assert f"kfp-run {run_id}" in out, out
            assert decoy not in out, f"the janitor touched the unlabelled decoy:\n{out}"
            # asked of KFP, the API server, the node and this machine's processes and ports
            assert teardown_plan.leftovers(ledger.resources()) == [], out
            until(
                f"the pods of KFP run {kfp_run} to go",
                lambda: kfp_runs.run_pods(run.api(), kfp_run) == [],
                timeout=120,
            )
            assert naming(run_id) == []
            assert objects.Namespace(run.api(), decoy).phase() == "Active", out
            assert kfp.get_experiment(decoy_experiment).experiment_id == decoy_experiment, out
            assert run.cluster in kind_clusters(built)  # adopted: not the run's to delete
        finally:
            if harness.poll() is None:
                harness.kill()
                harness.wait()
            with contextlib.suppress(ProcessLookupError):  # a command it ran when killed
                os.killpg(harness.pid, signal.SIGKILL)
            if harness.stdout:
                harness.stdout.close()
            run_dir = harness_runs.run_dir_of(artifacts)
            if not cleaned and run_dir is not None:  # the test failed first: never leak the run
                teardown_plan.teardown(Ledger(run_dir / "ledger.jsonl").resources())
