"""The pipeline's steps run the way a KFP step runs them — in a pod of the project image,
as the step's service account, with the RBAC the run created: train writes the export to
the PVC, serve and web-ui roll out the model server and the UI; then the harness reaches
both through real port-forwards and predicts. The service account may do exactly that."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from kubernetes import client as k8s

from cluster_tests.conftest import docker, run_step_pod, step
from fixtures.platforms.kind import KindPlatform
from fixtures.tools.portforward import read_status
from kubekit.constants import PIPELINE_NAMESPACE, PIPELINE_SERVICE_ACCOUNT
from kubekit.exceptions import NotReady
from kubekit.wait import until, wait_until
from model.data import load_test_digits
from pipeline.deploy.rollout_watch import wait_for_rollout
from web_ui.predict_client import ModelServerError, PredictClient

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"  # what kubectl rollout restart sets


@pytest.fixture(scope="module")
def trained(run: KindPlatform) -> str:
    """The train step's program in a step pod: a linear model exported to the PVC."""
    return run_step_pod(
        run,
        "tier-train",
        [
            "python", "-m", "model.train",
            "--tf-model-type", "linear",
            "--tf-train-steps", "200",
            "--tf-export-dir", "/mnt/export",
        ],
    )  # fmt: skip


@pytest.fixture(scope="module")
def deployed(run: KindPlatform, trained: str) -> tuple[str, str]:
    """The serve and web-ui steps in step pods; their logs."""
    common = ["--overlay", "kind", "--namespace", run.namespace, "--run-id", run.run_id]
    serve = run_step_pod(
        run,
        "tier-serve",
        [
            "python", "-m", "pipeline.deploy", "serve", *common,
            "--model-base-path", "/mnt/export",
            "--pvc-name", run.pvc_name,
            "--serving-image", str(run.image),
            "--timeout", "600",
        ],
    )  # fmt: skip
    web_ui = run_step_pod(
        run,
        "tier-web-ui",
        [
            "python", "-m", "pipeline.deploy", "web-ui", *common,
            "--image", str(run.image),
            "--model-server", f"tf-serving.{run.namespace}.svc.cluster.local:9000",
            "--timeout", "600",
        ],
    )  # fmt: skip
    return serve, web_ui


def test_train_writes_a_versioned_export_to_the_model_volume(
    run: KindPlatform, trained: str, node: str
) -> None:
    listing = docker("exec", node, "find", f"{run.node_dir}/export", "-name", "saved_model.pb")
    assert listing.strip(), (
        f"no saved_model.pb under {node}:{run.node_dir}/export; log:\n{trained[-2000:]}"
    )
    owners = docker("exec", node, "stat", "-c", "%u", *listing.split()).split()
    assert set(owners) == {"10001"}, f"export files not written by uid 10001: {owners}"


def test_serve_and_web_ui_steps_roll_out_under_the_runs_rbac(
    run: KindPlatform, deployed: tuple[str, str]
) -> None:
    serve_log, web_ui_log = deployed
    assert "predicts with model version" in serve_log, serve_log[-2000:]
    apps = k8s.AppsV1Api(run.api())
    for name in ("tf-serving", "web-ui"):
        deployment = apps.read_namespaced_deployment(name, run.namespace)
        assert deployment.status.available_replicas == 1, (name, deployment.status)
    pods = (
        k8s.CoreV1Api(run.api())
        .list_namespaced_pod(run.namespace, label_selector="app.kubernetes.io/name=tf-serving")
        .items
    )
    command = pods[0].spec.containers[0].command
    assert command == ["python", "-m", "serving"], f"the stand-in model server runs: {command}"
    assert web_ui_log.strip(), "the web-ui step printed nothing"


SHOULD = [  # (verb, group, resource, namespace): what the deploy steps do
    ("create", "apps", "deployments", "run"),
    ("patch", "apps", "deployments", "run"),
    ("watch", "apps", "replicasets", "run"),
    ("create", "", "services", "run"),
    ("get", "", "pods/log", "run"),
    ("list", "", "events", "run"),
]
SHOULD_NOT = [  # more would be more than the steps need
    ("delete", "apps", "deployments", "run"),
    ("get", "", "secrets", "run"),
    ("create", "", "pods", "run"),
    ("create", "", "pods/exec", "run"),
    ("create", "apps", "deployments", "default"),
    ("get", "", "secrets", "kube-system"),
    ("create", "rbac.authorization.k8s.io", "rolebindings", "run"),
    ("delete", "", "namespaces", ""),
    ("list", "", "nodes", ""),
]


@pytest.fixture(scope="module")
def as_step(run: KindPlatform) -> Iterator[k8s.AuthorizationV1Api]:
    """The authorization API as the step's service account (impersonated by the admin)."""
    api = run.api()
    user = f"system:serviceaccount:{PIPELINE_NAMESPACE}:{PIPELINE_SERVICE_ACCOUNT}"
    api.set_default_header("Impersonate-User", user)
    try:
        yield k8s.AuthorizationV1Api(api)
    finally:
        api.default_headers.pop("Impersonate-User", None)


def _allowed(
    authz: k8s.AuthorizationV1Api,
    run: KindPlatform,
    verb: str,
    group: str,
    resource: str,
    where: str,
) -> bool:
    resource, _, sub = resource.partition("/")
    namespace = run.namespace if where == "run" else where or None
    review = k8s.V1SelfSubjectAccessReview(
        spec=k8s.V1SelfSubjectAccessReviewSpec(
            resource_attributes=k8s.V1ResourceAttributes(
                verb=verb,
                group=group,
                resource=resource,
                subresource=sub or None,
                namespace=namespace,
            )
        )
    )
    return bool(authz.create_self_subject_access_review(review).status.allowed)


def test_the_step_account_may_do_what_the_steps_do(
    run: KindPlatform, as_step: k8s.AuthorizationV1Api
) -> None:
    denied = [c for c in SHOULD if not _allowed(as_step, run, *c)]
    assert denied == [], f"the deploy steps need these but are denied: {denied}"


def test_the_step_account_may_do_no_more(
    run: KindPlatform, as_step: k8s.AuthorizationV1Api
) -> None:
    allowed = [c for c in SHOULD_NOT if _allowed(as_step, run, *c)]
    assert allowed == [], f"the step's account may do more than it needs: {allowed}"


def test_port_forwards_reach_the_model_server_and_the_ui(
    run: KindPlatform, deployed: tuple[str, str], tmp_path: Path
) -> None:
    run.local_export = tmp_path  # the export stays on the node; nothing here reads it
    step(run, "reach TF Serving").run()
    endpoints = run.endpoints()
    assert endpoints.grpc_target.startswith("127.0.0.1:"), endpoints.grpc_target
    images, labels = load_test_digits()
    client = PredictClient(endpoints.grpc_target, "mnist", timeout=30)
    try:
        prediction = client.predict(images[:500])
    finally:
        client.close()
    accuracy = float(np.mean(prediction.classes == labels[:500]))
    assert accuracy >= 0.8, f"linear model through the port-forward: accuracy {accuracy:.3f}"
    np.testing.assert_allclose(prediction.probabilities.sum(axis=1), 1.0, atol=1e-4)


def test_the_grpc_forward_survives_its_kubectl_killed_and_the_model_server_replaced(
    run: KindPlatform, deployed: tuple[str, str], tmp_path: Path
) -> None:
    """Mid-predictions, the ``kubectl port-forward`` behind the gRPC endpoint is killed and
    the model server rolled out again (``kubectl rollout restart``): the supervisor starts a
    new forwarder, which resolves the Service to the new pod, and predictions pass."""
    if "model-server grpc" not in run.forwards:
        run.local_export = tmp_path
        step(run, "reach TF Serving").run()
    opened = run.forwards["model-server grpc"]
    images, labels = load_test_digits()
    core, apps = k8s.CoreV1Api(run.api()), k8s.AppsV1Api(run.api())
    selector = "app.kubernetes.io/name=tf-serving"
    old_pods = {
        p.metadata.uid
        for p in core.list_namespaced_pod(run.namespace, label_selector=selector).items
    }
    before = read_status(opened.status_file)
    assert before["state"] == "ready" and before["forwarder_pid"], before

    def accuracy() -> float:
        client = PredictClient(opened.address, "mnist", timeout=10)
        try:
            prediction = client.predict(images[:200])
        except ModelServerError as exc:
            raise NotReady(f"Predict through {opened.address}: {exc}") from exc
        finally:
            client.close()
        return float(np.mean(prediction.classes == labels[:200]))

    assert accuracy() >= 0.8
    os.kill(before["forwarder_pid"], signal.SIGKILL)
    restarted_at = datetime.now(UTC).isoformat()
    apps.patch_namespaced_deployment(
        "tf-serving",
        run.namespace,
        {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: restarted_at}}}}},
    )
    wait_for_rollout(run.api(), run.namespace, "tf-serving", timeout=300)

    def serving_uids() -> set[str]:
        pods = core.list_namespaced_pod(run.namespace, label_selector=selector).items
        return {p.metadata.uid for p in pods}

    # only the new pod is left to answer: a forwarder still on the old one must move
    until("the old model-server pod to go", lambda: not serving_uids() & old_pods, timeout=180)
    assert serving_uids(), "no model-server pod after the restart"
    assert wait_until("predictions through the reconnected forward", accuracy, timeout=180) >= 0.8

    # the test's own predictions can pass a moment before the supervisor's next check marks
    # the new forwarder ready (CI saw "reconnecting" right after they passed): wait for it
    def reconnected() -> bool:
        now = read_status(opened.status_file)
        return now["state"] == "ready" and now["connects"] > before["connects"]

    until("the supervisor to report its new forwarder ready", reconnected, timeout=60)
    after = read_status(opened.status_file)
    assert after["forwarder_pid"] != before["forwarder_pid"], (before, after)
