"""A kind run cancelled while it creates its cluster still tears down what it made: the
half-made cluster goes, node container and all, and nothing is left. Cancelled twice over:
SIGTERM to ``pytest`` as CI does, and Ctrl-C in a terminal running ``tox -e kind`` (SIGINT to
tox's whole process group, then tox's own SIGINT and SIGTERM to pytest as tox.ini times them).

The run is ``pytest e2e --platform kind --airgap`` with a cluster name of its own, so it
creates the cluster. Its check stops any run whose air-gapped build has no Kubeflow
Pipelines, before anything is created, and this machine's build has none (issue 9). So the
run is given a copy of the build's manifest (``MNIST_E2E_CACHE``) that names a KFP render: a
folder with one ConfigMap, never applied, as the run is cancelled while ``kind create
cluster`` is still booting the node, long before its KFP step.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

import pytest

from ci.airgap.manifest import Manifest, default_path
from cluster_tests import fault_times, harness_runs, kfp_runs
from cluster_tests.conftest import ROOT, docker, kind_clusters
from fixtures.created import teardown_plan
from fixtures.kfp.kfp_api import KfpApi
from fixtures.kind import kindctl
from fixtures.ledger import Ledger
from fixtures.platforms.kind import KindPlatform
from kubekit.wait import until

# How long the cancelled harness may take to tear its run down before the test gives up on it:
# tox's interrupt_timeout for the cluster envs. Signal-to-clean time is measured, not asserted
# (`python -m benchmarks faults`, docs/faults.md): on a loaded 2-core machine it ranged from
# 25 s to more than 60 s, and a timed assertion would fail a correct teardown.
TEARDOWN_GIVE_UP_SECONDS: Final = 900

NEVER_APPLIED = """apiVersion: v1
kind: ConfigMap
metadata:
  name: mnist-e2e-interrupt-never-applied
  namespace: default
"""


def manifest_with_a_kfp_render(built: Manifest, tmp_path: Path) -> Path:
    """A cache folder whose manifest is *built*'s plus a KFP render the run never reaches."""
    render = tmp_path / "kfp"
    render.mkdir()
    (render / "00-never-applied.yaml").write_text(NEVER_APPLIED, encoding="utf-8")
    manifest = dataclasses.replace(
        built,
        kfp_manifests=str(render),
        kfp_version="2.17.0",
        kfp_blocked=[],
        images={**built.images, "kfp-api-server": built.images["project"]},
    )
    cache = tmp_path / "cache"
    manifest.write(default_path(cache))
    return cache


def node_containers(cluster: str) -> list[str]:
    return docker(*kindctl.node_containers_argv(cluster)[1:]).split()


def _started(how: str, cluster: str, artifacts: Path, cache: Path) -> subprocess.Popen[str]:
    """The run, as CI starts it (pytest) or as a user in a terminal does (tox, in a process
    group of its own: the terminal's)."""
    options = ["--airgap", "--kind-cluster", cluster, "--artifacts-dir", str(artifacts)]
    if how == "pytest":
        argv = [
            sys.executable, "-m", "pytest", "e2e", "-p", "no:cacheprovider", "-q",
            "--platform", "kind", *options,
        ]  # fmt: skip
        env = dict(os.environ)
    else:
        tox = shutil.which("tox")
        if tox is None:
            pytest.skip("tox is not on PATH (this case runs `tox -e kind` as a user would)")
        argv = [tox, "-e", "kind", "--", *options, "--junitxml", str(artifacts / "junit.xml")]
        env = {
            k: v
            for k, v in os.environ.items()
            if k != "VIRTUAL_ENV" and not k.startswith(("TOX_", "PYTEST_"))
        }
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1", "MNIST_E2E_CACHE": str(cache)},
        start_new_session=how == "tox",
    )


@pytest.mark.parametrize(
    ("how", "cancel", "said"),
    [
        ("pytest", "SIGTERM to pytest", "interrupted: received signal 15 (SIGTERM)"),
        ("tox", "Ctrl-C: SIGINT to tox's group", "interrupted: received signal 2 (SIGINT)"),
    ],
)
def test_a_run_cancelled_while_the_cluster_is_created_still_tears_it_down(
    built: Manifest, tmp_path: Path, how: str, cancel: str, said: str
) -> None:
    cluster = f"mnist-e2e-int-{secrets.token_hex(2)}"
    node = f"{cluster}-control-plane"
    artifacts = tmp_path / "artifacts"
    run = _started(how, cluster, artifacts, manifest_with_a_kfp_render(built, tmp_path))
    try:
        until(
            f"node container {node} (kind create cluster under way)",
            lambda: run.poll() is not None or bool(node_containers(cluster)),
            timeout=300,
        )
        if run.poll() is not None:
            ended, _ = run.communicate()
            raise AssertionError(f"the run ended before it was cancelled:\n{ended[-3000:]}")
        if how == "pytest":
            run.send_signal(signal.SIGTERM)
        else:
            os.killpg(run.pid, signal.SIGINT)
        output, _ = run.communicate(timeout=900)
    finally:
        if run.poll() is None:
            if how == "tox":
                os.killpg(run.pid, signal.SIGKILL)  # the whole group: tox and pytest
            else:
                run.kill()
            run.wait()
        if cluster in kind_clusters(built):  # only when the run failed to: never leak it
            subprocess.run(kindctl.delete_argv(cluster, built.kind), check=False, timeout=300)
    assert run.returncode != 0, f"a cancelled run must not pass ({cancel}):\n{output[-3000:]}"
    assert "SIGKILL" not in output, f"tox had to kill the harness:\n{output[-3000:]}"
    (run_dir,) = [p for p in artifacts.iterdir() if p.is_dir()]
    ledger = Ledger(run_dir / "ledger.jsonl")
    recorded = [r for r in ledger if r.kind == "kind-cluster"]
    assert [(r.name, r.details["created"]) for r in recorded] == [(cluster, True)], recorded
    assert not any(r.kind == "namespace" for r in ledger), "cancelled before the namespace step"
    assert cluster not in kind_clusters(built), f"cluster {cluster} left:\n{output[-3000:]}"
    assert node_containers(cluster) == [], f"node container {node} left:\n{output[-3000:]}"
    assert teardown_plan.leftovers(ledger.resources()) == []
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["leftovers"] == [], summary
    assert summary["error"] == said, summary
    assert summary["interrupted"] is True, summary


def test_sigterm_while_the_kfp_run_executes_terminates_it_and_leaves_nothing(
    built: Manifest, run: KindPlatform, kfp: KfpApi, tmp_path: Path
) -> None:
    """A cancelled CI job: the harness (adopting the tier's cluster, whose KFP it finds
    installed) gets SIGTERM while its real pipeline's train step runs in KFP. Its teardown
    terminates and deletes the KFP run and experiment, then the namespace, PVs and node
    directory; the adopted cluster stays, as it was not the run's to delete."""
    artifacts = tmp_path / "artifacts"
    harness = harness_runs.start(run.cluster, artifacts)
    try:
        kfp_run = harness_runs.wait_for_train(harness, artifacts, run.api())
        signalled = time.monotonic()
        harness.send_signal(signal.SIGTERM)
        output, _ = harness.communicate(timeout=TEARDOWN_GIVE_UP_SECONDS)
        signal_to_clean = time.monotonic() - signalled
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait()
    fault_times.record({"fault": "sigterm", "signal_to_clean_seconds": signal_to_clean})
    assert harness.returncode != 0, f"a cancelled run must not pass:\n{output[-3000:]}"
    run_dir = harness_runs.run_dir_of(artifacts)
    assert run_dir is not None
    ledger = Ledger(run_dir / "ledger.jsonl")
    kinds = {r.kind for r in ledger}
    assert {"kfp-run", "kfp-experiment", "namespace", "node-dir"} <= kinds, kinds
    assert [r.details["created"] for r in ledger if r.kind == "kind-cluster"] == [False]
    assert teardown_plan.leftovers(ledger.resources()) == []  # asked of KFP, the API, the node
    # the terminated run's Argo workflow goes with it, and its pods with the workflow
    until(
        f"the pods of KFP run {kfp_run} to go",
        lambda: kfp_runs.run_pods(run.api(), kfp_run) == [],
        timeout=120,
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["error"] == "interrupted: received signal 15 (SIGTERM)", summary
    assert summary["leftovers"] == [], summary
    assert run.cluster in kind_clusters(built)  # adopted: not the run's to delete
