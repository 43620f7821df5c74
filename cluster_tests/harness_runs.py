"""The harness as CI runs it on the tier's cluster, for the tests that interrupt it: started as
``pytest e2e --platform kind --airgap`` adopting the cluster, followed through its ledger
until its real pipeline's train step runs in KFP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cluster_tests import kfp_runs
from cluster_tests.conftest import ROOT
from fixtures.ledger import Ledger, Resource
from kubekit.exceptions import NotReady
from kubekit.wait import wait_until


def start(cluster: str, artifacts: Path, *, own_group: bool = False) -> subprocess.Popen[str]:
    """``pytest e2e`` on kind cluster *cluster* (adopted: it exists), its runs under
    *artifacts*; *own_group* puts it in a process group of its own, as a CI runner does."""
    return subprocess.Popen(
        [
            sys.executable, "-m", "pytest", "e2e", "-p", "no:cacheprovider", "-q", "-x",
            "--platform", "kind", "--airgap", "--kind-cluster", cluster,
            "--artifacts-dir", str(artifacts),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=own_group,
    )  # fmt: skip


def run_dir_of(artifacts: Path) -> Path | None:
    """The one run folder the harness made under *artifacts*, once it exists."""
    found = [p for p in artifacts.iterdir() if p.is_dir()] if artifacts.exists() else []
    return found[0] if len(found) == 1 else None


def recorded(run_dir: Path, kind: str) -> list[Resource]:
    return [r for r in Ledger(run_dir / "ledger.jsonl") if r.kind == kind]


def wait_for_train(harness: subprocess.Popen[str], artifacts: Path, api: Any) -> str:
    """Wait until *harness* has submitted its KFP run and the run's train container runs;
    KFP's run id. Fails with the harness's output if it ends before."""

    def kfp_run_recorded() -> str:
        if harness.poll() is not None:
            return ""  # ended early: said below, with its output
        run_dir = run_dir_of(artifacts)
        runs = recorded(run_dir, "kfp-run") if run_dir else []
        if not runs:
            raise NotReady("no kfp-run in the harness's ledger yet")
        return str(runs[0].details["id"])

    kfp_run = wait_until("the harness to submit its KFP run", kfp_run_recorded, timeout=900)
    if harness.poll() is not None:
        ended, _ = harness.communicate()
        raise AssertionError(f"the run ended before it was interrupted:\n{ended[-3000:]}")
    kfp_runs.wait_for_run_pod(
        api,
        kfp_run,
        "running train's container",
        lambda p: kfp_runs.is_executor_of("train")(p) and p.status.phase == "Running",
        timeout=600,
    )
    return kfp_run
