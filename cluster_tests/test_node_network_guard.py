"""What must not leave a node is refused there (kindctl.guard_rules), proved from a pod and
from the node itself.

Service range: pods reach a Service through an address kube-proxy rewrites to a pod's. Until
it has (a loaded machine's kube-proxy can lag a new Service by seconds), a packet for that
address would follow the node's default route to the host's network, where anything may
answer: on this machine an egress proxy answers every address with a 404, and a web UI
probe once took that 404 for the UI's. --airgap: nothing leaves the node but to its Docker
network, so a download tried at run time is refused. A Service kube-proxy has programmed,
and cluster DNS, still work.
"""

from __future__ import annotations

import pytest
from kubernetes import client as k8s

from cluster_tests.conftest import docker, run_step_pod
from fixtures.kind import kindctl
from fixtures.platforms.kind import KindPlatform

OFF_NETWORK = "203.0.113.1"  # TEST-NET-3: no one's address; the host's network answers it here

# argv: host port expected ("refused" or "connected"); exits 0 only when that happens.
CONNECT = """
import socket, sys
host, port, expected = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    socket.create_connection((host, port), timeout=10).close()
    seen = "connected"
except ConnectionRefusedError:
    seen = "refused"
except OSError as exc:
    seen = f"{type(exc).__name__}: {exc}"
print(f"{host}:{port} {seen}")
sys.exit(0 if seen == expected else 1)
"""


def unused_service_address(run: KindPlatform) -> str:
    """The highest address of the Service range that no Service holds."""
    services = k8s.CoreV1Api(run.api()).list_service_for_all_namespaces().items
    return kindctl.free_service_address(
        (s.spec.cluster_ip for s in services),
        kindctl.service_subnet(kindctl.AIRGAP_CLUSTER_CONFIG),
    )


def connect_from_pod(run: KindPlatform, name: str, host: str, port: int, expected: str) -> None:
    log = run_step_pod(run, name, ["python", "-c", CONNECT, host, str(port), expected], timeout=180)
    assert f"{host}:{port} {expected}" in log, log


def connect_from_node(node: str, host: str, port: int) -> str:
    return docker(
        "exec", node, "sh", "-c",
        f"timeout 10 bash -c 'exec 3<>/dev/tcp/{host}/{port}' 2>&1 && echo connected || true",
    )  # fmt: skip


def test_a_pod_is_refused_an_address_no_service_holds(run: KindPlatform) -> None:
    connect_from_pod(run, "tier-guard-service", unused_service_address(run), 80, "refused")


def test_a_pod_is_refused_anything_off_the_docker_network(run: KindPlatform) -> None:
    connect_from_pod(run, "tier-guard-egress", OFF_NETWORK, 80, "refused")


def test_a_pod_still_reaches_a_programmed_service_by_its_dns_name(run: KindPlatform) -> None:
    connect_from_pod(
        run, "tier-guard-dns", "kubernetes.default.svc.cluster.local", 443, "connected"
    )


@pytest.mark.parametrize("where", ["service", "off-network"])
def test_the_node_itself_is_refused_them_too(run: KindPlatform, node: str, where: str) -> None:
    host = unused_service_address(run) if where == "service" else OFF_NETWORK
    out = connect_from_node(node, host, 80)
    assert "Connection refused" in out, out
