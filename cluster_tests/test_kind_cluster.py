"""kind create, adopt and delete, on the real cluster made from the air-gapped node image."""

from __future__ import annotations

import subprocess

import pytest
from kubernetes import client as k8s

from ci.airgap.manifest import Manifest
from cluster_tests.conftest import docker, kind_clusters, new_platform, step
from fixtures.created import teardown_plan
from fixtures.platforms.kind import KindPlatform


def test_the_cluster_is_created_from_the_local_node_image(
    cluster: KindPlatform, built: Manifest, node: str
) -> None:
    recorded = [r for r in cluster.ledger.resources() if r.kind == "kind-cluster"]
    assert [r.details["created"] for r in recorded] == [True], recorded
    assert docker("inspect", "--format", "{{.Config.Image}}", node).strip() == built.node_image
    nodes = k8s.CoreV1Api(cluster.api()).list_node().items
    ready = {
        n.metadata.name: next(c.status for c in n.status.conditions if c.type == "Ready")
        for n in nodes
    }
    assert ready == {node: "True"}, f"nodes and their Ready condition: {ready}"
    assert nodes[0].status.node_info.kubelet_version == built.kubernetes_version


def test_kube_system_runs_and_nothing_was_pulled(cluster: KindPlatform, node: str) -> None:
    pods = k8s.CoreV1Api(cluster.api()).list_namespaced_pod("kube-system").items
    running = sorted(p.metadata.name for p in pods if p.status.phase == "Running")
    for component in (
        "coredns-",
        "etcd-",
        "kube-apiserver-",
        "kube-controller-manager-",
        "kube-proxy-",
        "kube-scheduler-",
    ):
        assert any(name.startswith(component) for name in running), (component, running)
    log = docker("exec", node, "journalctl", "-u", "containerd", "--no-pager", "-o", "cat")
    pulls = [line for line in log.splitlines() if "PullImage" in line]
    assert log.strip(), "containerd's journal on the node is empty: nothing to check"
    assert pulls == [], f"containerd pulled images: {pulls[:5]}"


def test_an_adopting_run_leaves_the_cluster_in_place(
    cluster: KindPlatform, built: Manifest
) -> None:
    adopter = new_platform(built, cluster.cluster)
    step(adopter, "tools and docker").run()
    step(adopter, "kind cluster").run()
    assert adopter.decision is not None and adopter.decision.action == "adopt"
    recorded = [
        r.details["created"] for r in adopter.ledger.resources() if r.kind == "kind-cluster"
    ]
    assert recorded == [False]
    lines = teardown_plan.teardown(adopter.ledger.resources())
    assert cluster.cluster in kind_clusters(built), f"an adopted cluster was deleted: {lines}"


@pytest.mark.last(3)
def test_teardown_deletes_the_cluster_it_created(
    cluster: KindPlatform, built: Manifest, node: str
) -> None:
    lines = teardown_plan.teardown(cluster.ledger.resources())
    assert any(f"kind-cluster {cluster.cluster}: deleted" in line for line in lines), lines
    assert cluster.cluster not in kind_clusters(built)
    gone = subprocess.run(["docker", "inspect", node], capture_output=True, text=True)
    assert gone.returncode != 0, f"node container {node} is still there"
    assert teardown_plan.leftovers(cluster.ledger.resources()) == []
