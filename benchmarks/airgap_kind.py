"""The air-gapped kind path, side by side in one run: ``tox -e airgap`` warm, cluster create
and delete from the local node image, ``kind load`` of each image with its size, how long a
new Service takes to answer a pod (benchmarks/service_programming.py), and (``--tier``) the
cluster tier's wall time.

A cold build is measured with ``--cold``: a fresh cache, Go build cache and module cache in a
temporary folder (everything is downloaded and compiled again; about half an hour here).
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.output import format_table
from fixtures.kind import kindctl

ROOT = Path(__file__).resolve().parents[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this benchmark's options on its sub-command."""
    parser.add_argument("--cold", action="store_true", help="also time a build from nothing")
    parser.add_argument("--tier", action="store_true", help="also time `pytest cluster_tests`")


def _timed(argv: list[str], env: dict[str, str] | None = None, timeout: float = 7200) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(argv[:4])} … failed:\n{tail}")
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Measure; return the table and the JSON results."""
    from ci.airgap import docker_cli
    from ci.airgap.manifest import load

    rows: list[tuple[str, float, str]] = []
    results: dict[str, Any] = {}
    build = [sys.executable, "-m", "ci.airgap"]
    if args.cold:
        with tempfile.TemporaryDirectory(prefix="mnist-e2e-cold-") as scratch:
            env = {
                **os.environ,
                "MNIST_E2E_CACHE": f"{scratch}/cache",
                "GOCACHE": f"{scratch}/go-build",
                "GOMODCACHE": f"{scratch}/go-mod",
                "GOFLAGS": "-modcacherw",  # so the temporary module cache can be removed
            }
            rows.append(("airgap build, cold (nothing cached)", _timed(build, env), ""))
    rows.append(("airgap build, warm (all cached)", _timed(build), ""))
    built = load()
    cluster = f"mnist-e2e-bench-{secrets.token_hex(2)}"
    had_network = _has_kind_network()
    config = ROOT / "ci" / "kind" / "cluster-airgap.yaml"
    create = [built.kind, "create", "cluster", "--name", cluster, "--config", str(config)]
    rows.append(
        (
            "kind create cluster (node Ready)",
            _timed([*create, "--image", built.node_image, "--wait", "5m"]),
            built.node_image,
        )
    )
    try:
        for role, image in sorted(
            set((r, i) for r, i in built.images.items() if r != "python-base")
        ):
            size = f"{docker_cli.image_size(image) / 1e9:.2f} GB"
            seconds = _timed([built.kind, "load", "docker-image", image, "--name", cluster])
            rows.append((f"kind load {role} image", seconds, f"{image}, {size}"))
        lag = _service_programming(built, cluster)
        rows.append(
            (
                "new Service answers a pod (kube-proxy's lag), median",
                lag["median"],
                f"max {lag['max']:.2f} s of {lag['rounds']}; node guard on",
            )
        )
        results["service_programming"] = lag
    finally:
        rows.append(
            (
                "kind delete cluster",
                _timed([built.kind, "delete", "cluster", "--name", cluster]),
                "",
            )
        )
        if not had_network and _has_kind_network():  # kind made it for this cluster
            _timed(kindctl.remove_network_argv())
    if args.tier:
        tier = [sys.executable, "-m", "pytest", "cluster_tests", "-q", "-p", "no:cacheprovider"]
        rows.append(("cluster tier (pytest cluster_tests)", _timed(tier), ""))
    table = format_table(["what", "seconds", "detail"], [(w, f"{s:.1f}", d) for w, s, d in rows])
    return table, {
        **results,
        "rows": [{"what": w, "seconds": s, "detail": d} for w, s, d in rows],
    }


def _has_kind_network() -> bool:
    listed = subprocess.run(
        kindctl.list_networks_argv(), capture_output=True, text=True, check=True, timeout=60
    )
    return kindctl.KIND_NETWORK in listed.stdout.split()


def _service_programming(built: Any, cluster: str) -> dict[str, Any]:
    """The node guarded as the kind platform guards the nodes it creates, then the lag."""
    from benchmarks import service_programming
    from kubekit.client import from_kubeconfig

    subnet = kindctl.service_subnet(kindctl.AIRGAP_CLUSTER_CONFIG)
    kindctl.guard_nodes(cluster, subnet, kind=built.kind, off_network=True)
    context = kindctl.context_for(cluster)
    return service_programming.measure(
        from_kubeconfig(context),
        [built.kubectl, "--context", context],
        built.images["project"],
        subnet,
    )
