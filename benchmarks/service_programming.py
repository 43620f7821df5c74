"""How long a new Service takes to answer from inside the cluster: from its create call
returning to a pod's first connection through its address (kube-proxy's lag).

A client pod polls a Service address every 20 ms before the Service exists; the Service is
then created with that address, and the pod prints when a connection first succeeds. The
node must refuse untranslated Service traffic (kindctl.guard_rules): without that, the
host's network may answer the address at once, and the lag would read as zero.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from typing import Any

from kubernetes import client as k8s

from fixtures.kind import kindctl
from kubekit import objects
from kubekit.wait import until
from pipeline.deploy.rollout_watch import wait_for_rollout

NAMESPACE = "bench-service-programming"
POLL = """
import socket, sys, time
address, deadline = sys.argv[1], time.time() + 120
print("polling", flush=True)
while time.time() < deadline:
    try:
        socket.create_connection((address, 80), timeout=1).close()
    except OSError:  # refused until kube-proxy programs it: poll again, 20 ms being the resolution
        time.sleep(0.02)
        continue
    print(f"{time.time():.3f}", flush=True)
    break
else:
    print("no answer in 120 s", flush=True)
"""


def _server_and_client(api: k8s.ApiClient, image: str) -> None:
    labels = {"app.kubernetes.io/name": "bench-http"}
    container = {"image": image, "imagePullPolicy": "Never"}
    objects.Namespace(api, NAMESPACE).apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    )
    objects.Deployment(api, "bench-http", NAMESPACE).apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "bench-http", "namespace": NAMESPACE},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                **container,
                                "name": "http",
                                "command": ["python", "-m", "http.server", "8080"],
                                "readinessProbe": {"tcpSocket": {"port": 8080}},
                            }
                        ]
                    },
                },
            },
        }
    )
    objects.Pod(api, "bench-client", NAMESPACE).apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "bench-client", "namespace": NAMESPACE},
            "spec": {"containers": [{**container, "name": "client", "command": ["sleep", "3600"]}]},
        }
    )
    wait_for_rollout(api, NAMESPACE, "bench-http", timeout=300)
    client = objects.Pod(api, "bench-client", NAMESPACE)
    until(
        "pod bench-client running",
        lambda: client.read().status.phase == "Running",
        timeout=300,
    )


def _one_round(api: k8s.ApiClient, kubectl: list[str], subnet: str, n: int) -> float:
    services = k8s.CoreV1Api(api).list_service_for_all_namespaces().items
    address = kindctl.free_service_address((s.spec.cluster_ip for s in services), subnet)
    poller = subprocess.Popen(
        [*kubectl, "exec", "-n", NAMESPACE, "bench-client", "--",
         "python", "-c", POLL, address],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert poller.stdout is not None
        started = poller.stdout.readline().strip()
        if started != "polling":
            raise RuntimeError(f"the client pod did not start polling: {started!r}")
        name = f"bench-{n}"
        objects.Service(api, name, NAMESPACE).apply(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": NAMESPACE},
                "spec": {
                    "clusterIP": address,
                    "selector": {"app.kubernetes.io/name": "bench-http"},
                    "ports": [{"port": 80, "targetPort": 8080}],
                },
            }
        )
        created = time.time()
        line = poller.stdout.readline().strip()
        try:
            answered = float(line)
        except ValueError:
            raise RuntimeError(f"Service {name} at {address}: {line or 'no output'}") from None
        poller.wait(timeout=60)
    finally:
        if poller.poll() is None:
            poller.kill()
            poller.wait()
    return answered - created


def measure(
    api: k8s.ApiClient, kubectl: list[str], image: str, subnet: str, rounds: int = 5
) -> dict[str, Any]:
    """Seconds from each of *rounds* new Services' creation to its first connection."""
    _server_and_client(api, image)
    lags = [_one_round(api, kubectl, subnet, n) for n in range(rounds)]
    return {
        "rounds": rounds,
        "median": statistics.median(lags),
        "max": max(lags),
        "each": lags,
    }
