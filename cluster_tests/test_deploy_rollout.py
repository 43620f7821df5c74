"""The deploy steps' Kubernetes side on a real API server: server-side apply converges, the
rollout wait (kubekit's watch) ends as soon as the outcome is known — complete, an image that
is not on the node, a crash loop — or at its deadline saying what it saw last, and a service
account without the project's RBAC gets a 403 that says which Role to apply.

Everything runs in a namespace of its own (in the run's ledger, so the run's teardown deletes
it), so the Deployments here never meet the ones test_deploy_steps.py rolls out.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from fixtures.platforms.kind import KindPlatform
from kubekit import objects as kinds
from kubekit.constants import run_labels
from kubekit.exceptions import Forbidden
from pipeline.deploy import __main__ as cli
from pipeline.deploy import render, steps
from pipeline.deploy.rollout import State
from pipeline.deploy.rollout_watch import RolloutFailed, RolloutTimeout, wait_for_rollout

ABSENT_IMAGE = "mnist-e2e/not-built-anywhere:0"  # on no node; imagePullPolicy Never
CRASH_LINE = "mnist-e2e rollout probe: the last thing it said"
NO_RBAC_ACCOUNT = "tier-no-rbac"


@pytest.fixture(scope="module")
def namespace(run: KindPlatform) -> str:
    """A namespace for this module's Deployments, labelled and recorded as the run's."""
    from fixtures.created.kube_resources import CreatedObject

    name = f"{run.namespace}-rollout"
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": run_labels(run.run_id)},
    }
    CreatedObject.apply_all(
        run.api(), [body], ledger=run.ledger, context=run.context, kubeconfig=run.kubeconfig
    )
    return name


def deployment_body(
    namespace: str, name: str, run_id: str, container: dict[str, Any]
) -> dict[str, Any]:
    """A one-replica Deployment of *container*, without a service account token."""
    labels = {**run_labels(run_id), "app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 1,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                    "containers": [{"name": name, "imagePullPolicy": "Never", **container}],
                },
            },
        },
    }


def apply(run: KindPlatform, *bodies: dict[str, Any]) -> None:
    steps.apply_all(run.api(), list(bodies), deadline=time.monotonic() + 120)


def web_ui_bodies(run: KindPlatform, namespace: str, image: str) -> list[dict[str, Any]]:
    """The web UI's own objects, except that its pods may not pull: the image is absent and
    the node must never try a registry (the kind tier checks containerd for pulls)."""
    bodies = render.web_ui_objects(
        "kind",
        namespace=namespace,
        run_id=run.run_id,
        image=image,
        model_server=f"tf-serving.{namespace}.svc:9000",
    )
    for body in bodies:
        for container in (
            body.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
        ):
            container["imagePullPolicy"] = "Never"
    return bodies


def test_apply_then_reapply_converges(run: KindPlatform, namespace: str) -> None:
    api = run.api()
    bodies = web_ui_bodies(run, namespace, ABSENT_IMAGE)
    apply(run, *bodies)
    deployment = kinds.Deployment(api, "web-ui", namespace)
    service = kinds.Service(api, "web-ui", namespace)
    first, first_service = deployment.read(), service.read()
    container = first.spec.template.spec.containers[0]
    assert container.image == ABSENT_IMAGE
    env = {e.name: e.value for e in container.env or []}
    assert env["MNIST_UI_MODEL_SERVERS"] == f"default=tf-serving.{namespace}.svc:9000"
    assert first.metadata.labels[render.RUN_ID_LABEL] == run.run_id
    managers = {(f.manager, f.operation) for f in first.metadata.managed_fields}
    assert ("mnist-e2e", "Apply") in managers, managers

    apply(run, *bodies)  # the same objects again: nothing changes
    again = deployment.read()
    assert again.metadata.generation == first.metadata.generation
    assert service.read().metadata.resource_version == first_service.metadata.resource_version

    # Someone else changes a field the step owns; the next apply takes it back (force).
    k8s.AppsV1Api(api).patch_namespaced_deployment(
        "web-ui", namespace, {"spec": {"replicas": 0}}, field_manager="someone-else"
    )
    assert deployment.read().spec.replicas == 0
    apply(run, *bodies)
    taken_back = deployment.read()
    assert taken_back.spec.replicas == 1
    assert taken_back.metadata.generation == first.metadata.generation + 2


def test_an_image_not_on_the_node_fails_the_rollout_fast(run: KindPlatform, namespace: str) -> None:
    # imagePullPolicy Never, as the air-gapped cluster's pods run: the kubelet may not pull.
    apply(run, deployment_body(namespace, "absent-image", run.run_id, {"image": ABSENT_IMAGE}))
    started = time.monotonic()
    with pytest.raises(RolloutFailed) as failure:
        wait_for_rollout(run.api(), namespace, "absent-image", timeout=300)
    elapsed = time.monotonic() - started
    assert not isinstance(failure.value, RolloutTimeout)
    assert failure.value.status.reason == "ErrImageNeverPull", failure.value
    message = str(failure.value)
    assert message.startswith(
        "rollout failed (ErrImageNeverPull):"
        f" 'roll out Deployment {namespace}/absent-image' failed after"
    ), message
    assert ABSENT_IMAGE in message and "kind load" in message, message
    assert elapsed < 90, f"took {elapsed:.0f}s of its 300s: not fast"


def test_a_container_that_exits_fails_the_rollout_with_its_last_log_line(
    run: KindPlatform, namespace: str
) -> None:
    apply(
        run,
        deployment_body(
            namespace,
            "crashing",
            run.run_id,
            {
                "image": run.image,
                "command": [
                    "python", "-c", f"print({CRASH_LINE!r}, flush=True); raise SystemExit(3)"
                ],
                "terminationMessagePolicy": "FallbackToLogsOnError",  # as the manifests set it
                # as the manifests do: Ready only once a probe passed, so a container that
                # exits at once is never counted available (it would "complete" the rollout)
                "readinessProbe": {"exec": {"command": ["true"]}, "initialDelaySeconds": 5},
            },
        ),
    )  # fmt: skip
    with pytest.raises(RolloutFailed) as failure:
        wait_for_rollout(run.api(), namespace, "crashing", timeout=240)
    status = failure.value.status
    assert status.reason == "CrashLoopBackOff", failure.value
    assert "exit code 3" in status.message, status.message
    assert f"its last log line: {CRASH_LINE}" in status.message, status.message


def test_a_ready_pod_completes_the_rollout(run: KindPlatform, namespace: str) -> None:
    apply(
        run,
        deployment_body(
            namespace,
            "ready",
            run.run_id,
            {
                "image": run.image,
                "command": ["sleep", "3600"],
                "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1},
            },
        ),
    )
    status = wait_for_rollout(run.api(), namespace, "ready", timeout=180)
    assert status.state is State.COMPLETE, status
    assert status.message == f"Deployment {namespace}/ready: 1 of 1 replicas available"
    started = time.monotonic()
    assert wait_for_rollout(run.api(), namespace, "ready", timeout=60) == status
    assert time.monotonic() - started < 5, "a complete rollout must not wait for a change"


def test_a_rollout_not_ready_by_the_deadline_says_what_it_saw_last(
    run: KindPlatform, namespace: str
) -> None:
    apply(
        run,
        deployment_body(
            namespace,
            "never-ready",
            run.run_id,
            {
                "image": run.image,
                "command": ["sleep", "3600"],
                "readinessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1},
            },
        ),
    )
    started = time.monotonic()
    with pytest.raises(RolloutTimeout) as failure:
        wait_for_rollout(run.api(), namespace, "never-ready", timeout=30)
    elapsed = time.monotonic() - started
    assert 30 <= elapsed < 60, elapsed
    assert failure.value.status.reason == "Timeout"
    message = str(failure.value)
    assert message.startswith(
        f"rollout failed (Timeout): 'roll out Deployment {namespace}/never-ready' timed out"
    ), message
    assert "last seen: " in message, message
    assert "0 of 1 updated replicas available" in message, message
    assert "never-ready running, not ready" in message, message
    # The pods' warning events: here the failing readiness probe.
    assert "; warnings: Unhealthy: Readiness probe failed" in message, message


@pytest.fixture(scope="module")
def no_rbac_kubeconfig(
    run: KindPlatform, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A kubeconfig as service account *NO_RBAC_ACCOUNT* of *namespace*, bound to no Role."""
    api = run.api()
    kinds.ServiceAccount(api, NO_RBAC_ACCOUNT, namespace).apply(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": NO_RBAC_ACCOUNT, "namespace": namespace},
        }
    )
    token = (
        k8s.CoreV1Api(api)
        .create_namespaced_service_account_token(
            NO_RBAC_ACCOUNT,
            namespace,
            k8s.AuthenticationV1TokenRequest(
                spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=900)
            ),
        )
        .status.token
    )
    configuration = api.configuration
    cluster: dict[str, Any] = {"server": configuration.host}
    if configuration.ssl_ca_cert:
        cluster["certificate-authority"] = configuration.ssl_ca_cert
    else:
        cluster["insecure-skip-tls-verify"] = True
    path = tmp_path_factory.mktemp("no-rbac") / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "tier", "cluster": cluster}],
                "users": [{"name": NO_RBAC_ACCOUNT, "user": {"token": token}}],
                "contexts": [
                    {"name": "no-rbac", "context": {"cluster": "tier", "user": NO_RBAC_ACCOUNT}}
                ],
                "current-context": "no-rbac",
            }
        )
    )
    return path


def test_an_account_without_the_rbac_is_forbidden_with_the_role_to_apply(
    run: KindPlatform,
    namespace: str,
    no_rbac_kubeconfig: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)  # as outside a pod
    from kubekit.client import from_kubeconfig

    refused = from_kubeconfig("no-rbac", str(no_rbac_kubeconfig))
    with pytest.raises(Forbidden) as failure:
        steps.apply_all(refused, web_ui_bodies(run, namespace, ABSENT_IMAGE), time.monotonic() + 60)
    assert failure.value.status == 403
    assert failure.value.attempts == 1, "a 403 is not retried"
    assert failure.value.description == f"apply Service {namespace}/web-ui"

    # The command line, as the step's container runs it: exit 1, one line, the Role to apply.
    argv = [
        "web-ui", "--overlay", "kind", "--namespace", namespace, "--run-id", run.run_id,
        "--image", ABSENT_IMAGE, "--model-server", f"tf-serving.{namespace}.svc:9000",
        "--timeout", "60", "--kubeconfig", str(no_rbac_kubeconfig), "--context", "no-rbac",
    ]  # fmt: skip
    assert cli.main(argv) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"error: web-ui: 'apply Service {namespace}/web-ui' failed (not retryable): HTTP 403:"
    ), line
    assert f"system:serviceaccount:{namespace}:{NO_RBAC_ACCOUNT}" in line, line
    assert "Role/RoleBinding mnist-e2e-deployer" in line, line
    assert f"in namespace {namespace}" in line, line
