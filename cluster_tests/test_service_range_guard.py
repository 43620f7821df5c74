"""Traffic for a Service kube-proxy has not programmed is refused on the node, never routed
off it.

Pods reach a Service through an address kube-proxy rewrites to a pod's. Until it has (a
loaded machine's kube-proxy can lag a new Service by seconds), a packet for that address
follows the node's default route to the host's network, where anything may answer: on this
machine an egress proxy answers every address with a 404, and a web UI probe once took that
404 for the UI's. The kind platform refuses such packets on each node it creates
(kindctl.guard_service_range_argv). Proved here the way the deploy steps connect, from a pod
and from the node itself, to an address in the Service range that no Service holds.
"""

from __future__ import annotations

import ipaddress

from kubernetes import client as k8s

from cluster_tests.conftest import docker, run_step_pod
from fixtures.cluster import kindctl
from fixtures.platforms.kind import KindPlatform

# Exits 0 only when the connection is refused; anything that answers, or silence, fails.
CONNECT = """
import socket, sys
address = sys.argv[1]
try:
    socket.create_connection((address, 80), timeout=10).close()
except ConnectionRefusedError:
    print(f"{address}:80 refused")
    sys.exit(0)
except OSError as exc:
    print(f"{address}:80: {type(exc).__name__}: {exc}")
    sys.exit(1)
print(f"{address}:80 accepted the connection: something off the node answered")
sys.exit(1)
"""


def unused_service_address(run: KindPlatform) -> str:
    """The highest address of the Service range that no Service holds."""
    taken = {
        s.spec.cluster_ip for s in k8s.CoreV1Api(run.api()).list_service_for_all_namespaces().items
    }
    subnet = ipaddress.ip_network(kindctl.service_subnet(kindctl.AIRGAP_CLUSTER_CONFIG))
    return next(str(a) for a in reversed(list(subnet.hosts())) if str(a) not in taken)


def test_a_pod_is_refused_an_address_no_service_holds(run: KindPlatform) -> None:
    address = unused_service_address(run)
    log = run_step_pod(run, "tier-service-guard", ["python", "-c", CONNECT, address], timeout=180)
    assert f"{address}:80 refused" in log, log


def test_the_node_itself_is_refused_it_too(run: KindPlatform, node: str) -> None:
    address = unused_service_address(run)
    out = docker(
        "exec", node, "sh", "-c",
        f"timeout 10 bash -c 'exec 3<>/dev/tcp/{address}/80' 2>&1 && echo connected || true",
    )  # fmt: skip
    assert "Connection refused" in out, out
