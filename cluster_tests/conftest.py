"""The cluster tier's fixtures: one real kind cluster from the air-gapped node image, made and
unmade by the kind platform's own steps, and a run provisioned on it the way a run is.

No fakes: every call goes to the cluster's API server on 127.0.0.1 (kind's mapping) or to
the node container. The cluster gets a name of its own per session, so the tier never
touches a cluster someone else uses; it is deleted from the ledger at the end.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s

from ci.airgap import docker_cli, pins
from ci.airgap.manifest import Manifest
from fixtures.config import HarnessConfig
from fixtures.created import teardown_plan
from fixtures.kfp.kfp_api import KfpApi
from fixtures.kfp.kfp_session import kfp_api
from fixtures.kind import kindctl
from fixtures.ledger import Ledger
from fixtures.naming import new_run_id
from fixtures.phases import PhaseClock
from fixtures.platforms import airgap, cluster_base
from fixtures.platforms.base import PlatformUnavailable
from fixtures.platforms.kind import KindPlatform
from fixtures.platforms.plan import Step
from kubekit.constants import PIPELINE_NAMESPACE, PIPELINE_SERVICE_ACCOUNT, run_labels

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "cluster-tier"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``last(n)`` (the ones that delete what the session shares) run after
    every other test, in the order of n."""

    def order(item: pytest.Item) -> float:
        marker = item.get_closest_marker("last")
        return float("-inf") if marker is None else marker.args[0]

    items.sort(key=order)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "last(n): runs after every other test of the tier, by n")


def step(platform: KindPlatform, title_start: str) -> Step:
    """The platform's step whose title starts with *title_start* (the one a run executes)."""
    found = [s for s in platform.steps() if s.title.startswith(title_start)]
    assert len(found) == 1, (
        f"no single step {title_start!r} in {[s.title for s in platform.steps()]}"
    )
    return found[0]


def new_platform(built: Manifest, cluster: str, run_id: str | None = None) -> KindPlatform:
    """A kind platform as ``--platform kind --airgap --kind-cluster CLUSTER`` makes it."""
    run_id = run_id or new_run_id()
    config = HarnessConfig(
        platform="kind",
        airgap=True,
        kind_cluster=cluster,
        artifacts_dir=ARTIFACTS,
        rootdir=ROOT,
    )
    return KindPlatform(config, run_id, Ledger(ARTIFACTS / run_id / "ledger.jsonl"), PhaseClock())


def docker(*args: str) -> str:
    """``docker ARGS``' stdout (ci.airgap's docker call: a failure names the command)."""
    return docker_cli.run(*args, timeout=120)


def kind_clusters(built: Manifest) -> list[str]:
    """The clusters the air-gapped kind lists."""
    return kindctl.existing_clusters(built.kind)


@pytest.fixture(scope="session")
def built() -> Manifest:
    """What ``tox -e airgap`` built; the tier fails (it does not skip) without it."""
    try:
        return airgap.checked_manifest()
    except PlatformUnavailable as exc:
        pytest.fail(f"the cluster tier needs the air-gapped build: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def cluster(built: Manifest) -> Iterator[KindPlatform]:
    """A kind cluster created by the platform's check and cluster steps from the local node
    image. Teardown: the platform's ledger teardown deletes it (unless a test already did)."""
    platform = new_platform(built, f"mnist-e2e-tier-{secrets.token_hex(2)}")
    try:
        step(platform, "tools and docker").run()
        step(platform, "kind cluster").run()
        yield platform
    finally:
        teardown_plan.teardown(platform.ledger.resources())


@pytest.fixture(scope="session")
def kfp(cluster: KindPlatform) -> Iterator[KfpApi]:
    """Kubeflow Pipelines 2.17.0 installed into the tier's cluster by the kind platform's own
    step (the images `tox -e airgap` built, kind-loaded; its render applied; ready), and its
    API through the harness's supervised port-forward. Teardown: the port-forward stops; KFP
    goes with the cluster."""
    step(cluster, f"Kubeflow Pipelines {pins.KFP_VERSION} standalone").run()
    with kfp_api(cluster.kfp_endpoint()) as api:
        yield api


Waiter = Callable[[str, float], KindPlatform]


@pytest.fixture
def waiter(run: KindPlatform, kfp: KfpApi, monkeypatch: pytest.MonkeyPatch) -> Waiter:
    """Makes the platform that waits: the shared run's config, ledger and image, its own phase
    clock and verdict, on KFP run *kfp_run_id* with *wait_timeout*."""
    # Asking KFP every 2s instead of 10s only shortens the test: the decisions are the same.
    monkeypatch.setattr(cluster_base, "RUN_POLL_SECONDS", 2.0)

    def make(kfp_run_id: str, wait_timeout: float) -> KindPlatform:
        config = dataclasses.replace(run.config, wait_timeout=wait_timeout)
        subject = KindPlatform(config, run.run_id, run.ledger, PhaseClock())
        subject.image = run.image
        subject.kfp = kfp
        subject.kfp_run_id = kfp_run_id
        return subject

    return make


@pytest.fixture(scope="session")
def node(cluster: KindPlatform) -> str:
    """The cluster's one node container."""
    return f"{cluster.cluster}-control-plane"


@pytest.fixture(scope="session")
def step_identity(cluster: KindPlatform) -> tuple[str, str]:
    """The namespace and service account a KFP step of this pipeline runs as, made the way
    KFP's manifests make them when KFP is not installed. Teardown: they go with the cluster."""
    from fixtures.created.kube_resources import CreatedObject

    api = k8s.CoreV1Api(cluster.api())
    existing = {n.metadata.name for n in api.list_namespace().items}
    if PIPELINE_NAMESPACE not in existing:
        CreatedObject.apply_all(
            cluster.api(),
            [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PIPELINE_NAMESPACE}},
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": PIPELINE_SERVICE_ACCOUNT, "namespace": PIPELINE_NAMESPACE},
                },
            ],
            ledger=cluster.ledger,
            context=cluster.context,
            kubeconfig=cluster.kubeconfig,
        )
    return PIPELINE_NAMESPACE, PIPELINE_SERVICE_ACCOUNT


@pytest.fixture(scope="session")
def run(
    cluster: KindPlatform, built: Manifest, step_identity: tuple[str, str]
) -> Iterator[KindPlatform]:
    """A run on the tier's cluster (adopted, as a second run would find it), provisioned by
    the kind platform's own steps: the project image kind-loaded, the run's namespace, the
    model volume on the node and the deploy steps' RBAC. Teardown: the run's ledger teardown
    (namespace, PVs, node directory); the cluster stays for the other tests."""
    platform = new_platform(built, cluster.cluster)
    try:
        for title in (
            "tools and docker",
            "kind cluster",
            "the project image",
            "namespace ",
            "the model volume",
            "RBAC",
        ):
            step(platform, title).run()
        yield platform
    finally:
        teardown_plan.teardown(platform.ledger.resources())


def run_step_pod(
    platform: KindPlatform,
    name: str,
    command: list[str],
    *,
    timeout: float = 600,
    expect: str = "Succeeded",
) -> str:
    """Run *command* in a pod of the project image the way a KFP step of this pipeline runs:
    in the step namespace, as its service account, as uid 10001, the model PVC at /mnt.
    Returns the pod's log; fails the test with the log when the pod ends in another phase
    than *expect* (``Failed`` for a step that must fail). The pod is in the run's ledger, so
    the run's teardown deletes it."""
    from fixtures.created.kube_resources import CreatedObject
    from kubekit.exceptions import NotReady
    from kubekit.wait import wait_until

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": PIPELINE_NAMESPACE,
            "labels": run_labels(platform.run_id),
        },
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": PIPELINE_SERVICE_ACCOUNT,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "main",
                    "image": platform.image,
                    "imagePullPolicy": "Never",
                    "command": command,
                    "volumeMounts": [{"name": "model", "mountPath": "/mnt"}],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
            "volumes": [
                {"name": "model", "persistentVolumeClaim": {"claimName": platform.pvc_name}}
            ],
        },
    }
    CreatedObject.apply_all(
        platform.api(),
        [pod],
        ledger=platform.ledger,
        context=platform.context,
        kubeconfig=platform.kubeconfig,
    )
    core = k8s.CoreV1Api(platform.api())

    def finished() -> str:
        phase = core.read_namespaced_pod(name, PIPELINE_NAMESPACE).status.phase
        if phase not in ("Succeeded", "Failed"):
            raise NotReady(f"pod {PIPELINE_NAMESPACE}/{name} is {phase}")
        return phase

    phase = wait_until(f"step pod {name}", finished, timeout=timeout, max_interval=2.0)
    log = core.read_namespaced_pod_log(name, PIPELINE_NAMESPACE, container="main")
    assert phase == expect, f"step pod {name} {phase}, not {expect}; its log ends:\n{log[-3000:]}"
    return log
