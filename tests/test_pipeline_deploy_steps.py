"""The deploy steps end to end against a scripted API server: what they apply, how they
wait, and how their failures read."""

import pytest

from pipeline.deploy import render, retry, steps
from tests.fake_apiserver import (
    FakeApiServer,
    deployment_json,
    pod_json,
    pod_list,
    replica_set_list,
    serving,
    status_body,
)

NS = "mnist-e2e-20261124t120000z-beef"
UI_LABELS = {"app.kubernetes.io/name": "web-ui"}
SERVING_LABELS = {"app.kubernetes.io/name": "tf-serving"}


def script_rollout(fake, name, labels, waiting=None):
    """Answer apply PATCHes with the body, and reads with a Deployment in the given state."""
    apps = f"/apis/apps/v1/namespaces/{NS}"
    fake.routes[("PATCH", f"{apps}/deployments/{name}")] = lambda r: (200, r.body)
    fake.routes[("PATCH", f"/api/v1/namespaces/{NS}/services/{name}")] = lambda r: (200, r.body)
    fake.routes[("PATCH", f"/api/v1/namespaces/{NS}/serviceaccounts/{name}")] = lambda r: (
        200,
        r.body,
    )
    available = 0 if waiting else 1
    fake.route(
        "GET", f"{apps}/deployments/{name}", (200, deployment_json(name, NS, available, labels))
    )
    fake.route("GET", f"{apps}/replicasets", (200, replica_set_list(name, NS)))
    fake.route(
        "GET",
        f"/api/v1/namespaces/{NS}/pods",
        (200, pod_list([pod_json(name, NS, labels, waiting)])),
    )


def web_ui_settings(fake, **overrides):
    values = {
        "overlay": "kind",
        "namespace": NS,
        "run_id": NS,
        "image": "mnist-e2e:0123abc",
        "model_server": f"tf-serving.{NS}.svc:9000",
        "timeout_seconds": 30,
        "probe_url": fake.url,
    }
    return steps.WebUiSettings(**{**values, **overrides})


def test_web_ui_step_applies_waits_and_asks_readyz():
    with serving(FakeApiServer()) as fake:
        script_rollout(fake, "web-ui", UI_LABELS)
        fake.route("GET", "/readyz", (200, {"ready": True}))
        url = steps.web_ui(web_ui_settings(fake), fake.client(), log=lambda _m: None)
    assert url == f"http://web-ui.{NS}.svc:80"
    applied = [r for r in fake.requests if r.method == "PATCH"]
    assert [r.path.rsplit("/", 2)[-2] for r in applied] == ["services", "deployments"]
    deployment = applied[1].body
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "mnist-e2e:0123abc"
    assert {
        "name": "MNIST_UI_MODEL_SERVERS",
        "value": f"default=tf-serving.{NS}.svc:9000",
    } in container["env"]
    assert deployment["metadata"]["labels"][render.RUN_ID_LABEL] == NS
    assert len(fake.seen("GET", "/readyz")) == 1


def test_web_ui_rollout_failure_names_the_cause():
    with serving(FakeApiServer()) as fake:
        script_rollout(fake, "web-ui", UI_LABELS, waiting="ImagePullBackOff")
        with pytest.raises(steps.RolloutFailed) as failure:
            steps.web_ui(web_ui_settings(fake), fake.client(), log=lambda _m: None)
    assert failure.value.status.reason == "ImagePullBackOff"
    assert "rollout failed (ImagePullBackOff)" in str(failure.value)
    assert not fake.seen("GET", "/readyz")  # no point asking a pod that never started


def test_missing_rbac_fails_the_apply_with_the_fix():
    with serving(FakeApiServer()) as fake:
        forbidden = status_body(403, f'services "web-ui" is forbidden: cannot patch in "{NS}"')
        fake.route("PATCH", f"/api/v1/namespaces/{NS}/services/web-ui", (403, forbidden))
        with pytest.raises(retry.DeployError, match=r"HTTP 403.*Role and RoleBinding"):
            steps.web_ui(web_ui_settings(fake), fake.client(), log=lambda _m: None)


def test_bad_values_fail_before_anything_is_applied():
    with serving(FakeApiServer()) as fake, pytest.raises(render.RenderError, match="host:port"):
        steps.web_ui(web_ui_settings(fake, model_server="nowhere"), fake.client())
    assert fake.requests == []


def test_check_export_lists_versions(tmp_path):
    (tmp_path / "1700000000").mkdir()
    (tmp_path / "1700000100").mkdir()
    (tmp_path / ".1700000200.tmp-abc").mkdir()  # an export in progress is not a version
    assert steps.check_export(str(tmp_path)) == [1700000000, 1700000100]


def test_check_export_without_versions_says_what_to_check(tmp_path):
    with pytest.raises(retry.DeployError, match=r"no model version under .*PVC mounted at /mnt"):
        steps.check_export(str(tmp_path / "missing"))


def test_serve_step_applies_waits_and_predicts():
    from concurrent import futures

    import grpc

    from tf_serving_api.protos import predict_pb2, prediction_service_pb2_grpc

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            response = predict_pb2.PredictResponse()
            response.model_spec.version.value = 1700000000
            response.outputs["classes"].int64_val.append(1)
            response.outputs["predictions"].float_val.extend([0.1] * 10)
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    logs = []
    try:
        with serving(FakeApiServer()) as fake:
            script_rollout(fake, "tf-serving", SERVING_LABELS)
            settings = steps.ServeSettings(
                overlay="gke",
                namespace=NS,
                run_id=NS,
                model_base_path="gs://mnist-e2e-bucket/export",
                gcp_service_account="reader@proj-1.iam.gserviceaccount.com",
                preflight=False,
                timeout_seconds=30,
                probe_target=f"127.0.0.1:{port}",
            )
            address = steps.serve(settings, fake.client(), log=logs.append)
    finally:
        server.stop(grace=None)
    assert address == f"tf-serving.{NS}.svc:9000"
    kinds = [r.path.rsplit("/", 2)[-2] for r in fake.requests if r.method == "PATCH"]
    assert sorted(kinds) == ["deployments", "serviceaccounts", "services"]
    assert any("model version 1700000000" in line for line in logs)
