"""Every object the deploy steps apply is a kind kubekit knows, at the API path the API server
serves it: the manifests and the toolkit agree, without asking a cluster."""

import pytest

from kubekit import objects as kinds
from pipeline.deploy import render

RUN = {"namespace": "run-ns", "run_id": "run-1"}


def path(body):
    return kinds.of(None, body).path  # the path needs no client


@pytest.mark.parametrize(
    ("kind", "api_version", "expected"),
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
def test_resource_paths(kind, api_version, expected):
    body = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "x", "namespace": "run-ns"},
    }
    assert path(body) == expected


def test_every_kind_the_manifests_hold_can_be_applied():
    for overlay in render.OVERLAYS:
        for body in render.for_run(render.load_overlay(overlay), **RUN):
            target = kinds.of(None, body)
            assert target.kind == body["kind"]
            assert path(body).endswith(f"/{body['metadata']['name']}")


def test_persistent_volumes_are_cluster_scoped():
    (volume, *_rest) = render.storage_objects("kind", **RUN)
    assert "namespace" not in volume["metadata"]
    assert path(volume) == f"/api/v1/persistentvolumes/{volume['metadata']['name']}"


def test_unknown_kind_and_missing_namespace_are_refused():
    with pytest.raises(ValueError, match=r"Ingress of networking\.k8s\.io/v1 is not a kind"):
        path({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "x"}})
    with pytest.raises(ValueError, match="namespace"):
        path({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}})
