"""What a Kubernetes object's ledger entry holds: enough to find and delete it from any
process (the real API calls are the cluster tier's, cluster_tests/test_kube_objects.py)."""

from __future__ import annotations

from fixtures.created.kube_resources import CreatedNamespace, CreatedObject
from fixtures.created.registry import resource_kind
from fixtures.ledger import Resource
from pipeline.deploy import render

RUN = "mnist-e2e-20261125t120000z-abcd"


def test_applied_objects_are_recorded_with_what_deletes_them() -> None:
    role, binding = render.rbac_objects("kind", namespace=RUN, run_id=RUN)
    entry = CreatedObject.entry_for(role, "c", "/k")
    assert (entry.kind, entry.name) == ("k8s-object", f"Role {RUN}/mnist-e2e-deployer")
    assert entry.details == {
        "context": "c",
        "kubeconfig": "/k",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "namespace": RUN,
        "name": "mnist-e2e-deployer",
    }
    assert (
        CreatedObject.entry_for(binding, "c", None).name == f"RoleBinding {RUN}/mnist-e2e-deployer"
    )


def test_cluster_scoped_objects_rank_after_the_namespaces() -> None:
    volume = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"}}
    item = resource_kind(CreatedObject.entry_for(volume, "c", None))
    assert (item.name, item.rank) == ("PersistentVolume pv", "cluster-scoped object")
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "m", "namespace": RUN},
    }
    inside = resource_kind(CreatedObject.entry_for(claim, "c", None))
    assert inside.rank == "namespaced object"
    assert inside.goes_with(CreatedNamespace(Resource("namespace", RUN, {"context": "c"})))
    assert not inside.goes_with(CreatedNamespace(Resource("namespace", RUN, {"context": "other"})))
