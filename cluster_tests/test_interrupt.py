"""A kind run cancelled with SIGTERM while it provisions still tears down what it made."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from ci.airgap.manifest import Manifest
from cluster_tests.conftest import ROOT, kind_clusters
from fixtures.created import teardown_plan
from fixtures.ledger import Ledger
from fixtures.platforms.kind import KindPlatform
from kubekit import objects
from kubekit.wait import until


def test_sigterm_mid_provision_still_tears_down(
    cluster: KindPlatform, built: Manifest, tmp_path: Path
) -> None:
    artifacts = tmp_path / "artifacts"
    run = subprocess.Popen(
        [
            sys.executable, "-m", "pytest", "e2e", "-p", "no:cacheprovider", "-q",
            "--platform", "kind", "--airgap", "--kind-cluster", cluster.cluster,
            "--artifacts-dir", str(artifacts),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        until(
            "the run's artifacts dir",
            lambda: artifacts.exists() and any(artifacts.iterdir()),
            timeout=120,
        )
        (run_dir,) = [p for p in artifacts.iterdir() if p.is_dir()]
        ledger = Ledger(run_dir / "ledger.jsonl")
        until(
            f"a namespace recorded in {ledger.path}",
            lambda: any(r.kind == "namespace" for r in ledger),
            timeout=180,
        )
        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
    namespace = next(r.name for r in ledger if r.kind == "namespace")
    assert run.returncode != 0, f"a cancelled run must not pass:\n{output[-3000:]}"
    assert objects.Namespace(cluster.api(), namespace).phase() is None, (
        f"namespace {namespace} left:\n{output[-3000:]}"
    )
    assert teardown_plan.leftovers(ledger.resources()) == []
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["leftovers"] == [], summary
    assert cluster.cluster in kind_clusters(built), (
        "the run adopted the cluster: it must not delete it"
    )
