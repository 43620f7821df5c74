"""Server-side apply through the real client: the request an API server receives."""

import pytest

from pipeline.deploy import render
from pipeline.deploy.apply import APPLY_CONTENT_TYPE, FIELD_MANAGER, apply, resource_path
from tests.fake_apiserver import FakeApiServer, serving

RUN = {"namespace": "run-ns", "run_id": "run-1"}


@pytest.mark.parametrize(
    ("kind", "api_version", "path"),
    [
        ("Deployment", "apps/v1", "/apis/apps/v1/namespaces/run-ns/deployments/x"),
        ("Service", "v1", "/api/v1/namespaces/run-ns/services/x"),
        ("ServiceAccount", "v1", "/api/v1/namespaces/run-ns/serviceaccounts/x"),
        ("PersistentVolumeClaim", "v1", "/api/v1/namespaces/run-ns/persistentvolumeclaims/x"),
        (
            "Role",
            "rbac.authorization.k8s.io/v1",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/run-ns/roles/x",
        ),
        (
            "RoleBinding",
            "rbac.authorization.k8s.io/v1",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/run-ns/rolebindings/x",
        ),
    ],
)
def test_resource_paths(kind, api_version, path):
    obj = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "x", "namespace": "run-ns"},
    }
    assert resource_path(obj) == path


def test_every_kind_the_manifests_hold_can_be_applied():
    for overlay in render.OVERLAYS:
        for obj in render.for_run(render.load_overlay(overlay), **RUN):
            assert resource_path(obj).endswith(f"/{obj['metadata']['name']}")


def test_persistent_volumes_are_cluster_scoped():
    (volume, *_rest) = render.storage_objects("kind", **RUN)
    assert "namespace" not in volume["metadata"]
    assert resource_path(volume) == f"/api/v1/persistentvolumes/{volume['metadata']['name']}"


def test_unknown_kind_and_missing_namespace_are_refused():
    with pytest.raises(ValueError, match="cannot apply Ingress"):
        resource_path({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {}})
    with pytest.raises(ValueError, match="namespace"):
        resource_path({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}})


def test_apply_sends_one_server_side_apply_patch():
    objects = render.web_ui_objects(
        "kind", image="mnist-e2e:1", model_server="tf-serving:9000", **RUN
    )
    service = next(o for o in objects if o["kind"] == "Service")
    path = "/api/v1/namespaces/run-ns/services/web-ui"
    stored = {**service, "metadata": {**service["metadata"], "uid": "u-1"}}
    with serving(FakeApiServer()) as fake:
        fake.route("PATCH", path, (201, stored))
        result = apply(fake.client(), service)
    (request,) = fake.seen("PATCH", path)
    assert request.headers["content-type"] == APPLY_CONTENT_TYPE
    assert request.query == {"fieldManager": [FIELD_MANAGER], "force": ["true"]}
    assert request.body == service
    assert result["metadata"]["uid"] == "u-1"
