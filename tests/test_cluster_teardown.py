"""Teardown of a cluster run: order, what is skipped (adopted, kept, gone with its parent),
and best-effort execution — planned from a real ledger file."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.cluster import deleters
from fixtures.cluster.teardown import ORDER, execute, plan_teardown, to_check
from fixtures.ledger import Ledger, Resource

NS = "mnist-e2e-20261125t120000z-abcd"
CTX = {"context": "kind-mnist-e2e", "kubeconfig": None}


def kind_run(created: bool) -> list[Resource]:
    """A kind run's ledger in the order the platform records it."""
    return [
        Resource("kind-cluster", "mnist-e2e", {"created": created, **CTX}),
        Resource(
            "kfp-install",
            "kfp 2.5.0",
            {**CTX, "version": "2.5.0", "uninstall": "kubectl delete -k …"},
        ),
        Resource("namespace", NS, CTX),
        Resource(
            "node-dir",
            f"node:/var/local/mnist-e2e/{NS}",
            {"node": "n", "path": f"/var/local/mnist-e2e/{NS}"},
        ),
        Resource(
            "k8s-object",
            "PersistentVolume mnist-model-1-serving",
            {**CTX, "kind": "PersistentVolume", "namespace": None},
        ),
        Resource(
            "k8s-object",
            f"PersistentVolumeClaim {NS}/mnist-model",
            {**CTX, "kind": "PersistentVolumeClaim", "namespace": NS},
        ),
        Resource(
            "k8s-object",
            "PersistentVolume mnist-model-1-pipeline",
            {**CTX, "kind": "PersistentVolume", "namespace": None},
        ),
        Resource(
            "k8s-object",
            "PersistentVolumeClaim kubeflow/mnist-model",
            {**CTX, "kind": "PersistentVolumeClaim", "namespace": "kubeflow"},
        ),
        Resource(
            "k8s-object", f"Role {NS}/mnist-e2e-deployer", {**CTX, "kind": "Role", "namespace": NS}
        ),
        Resource("process", "port-forward kfp-api", {"pid": 1}),
        Resource("kfp-experiment", NS, {"id": "e1"}),
        Resource("kfp-run", NS, {"id": "r1"}),
        Resource("tempdir", "/tmp/x", {"path": "/tmp/x"}),
        Resource("process", "port-forward web-ui", {"pid": 2}),
    ]


def test_adopted_cluster_is_kept_and_everything_of_the_run_deleted_in_order() -> None:
    actions = plan_teardown(kind_run(created=False))
    deleted = [a.resource.name for a in actions if a.verb == "delete"]
    assert deleted == [
        NS,  # kfp-run
        NS,  # kfp-experiment
        "port-forward web-ui",  # processes, newest first
        "port-forward kfp-api",
        "PersistentVolumeClaim kubeflow/mnist-model",  # outside the namespace: before it
        NS,  # the namespace (its PVC and Role go with it)
        "PersistentVolume mnist-model-1-pipeline",  # cluster-scoped, after the namespace
        "PersistentVolume mnist-model-1-serving",
        f"node:/var/local/mnist-e2e/{NS}",  # the directory behind the PVs, after them
        "/tmp/x",
    ]
    skipped = {a.resource.name: a.why for a in actions if a.verb == "skip"}
    assert "adopted" in skipped["mnist-e2e"]
    assert "left for later runs" in skipped["kfp 2.5.0"]
    assert skipped[f"PersistentVolumeClaim {NS}/mnist-model"] == f"goes with namespace {NS}"
    assert skipped[f"Role {NS}/mnist-e2e-deployer"] == f"goes with namespace {NS}"


def test_created_cluster_is_deleted_last_and_in_cluster_things_go_with_it() -> None:
    actions = plan_teardown(kind_run(created=True))
    deleted = [(a.resource.kind, a.resource.name) for a in actions if a.verb == "delete"]
    assert deleted[-1] == ("kind-cluster", "mnist-e2e")
    assert {kind for kind, _ in deleted} == {"process", "tempdir", "kind-cluster"}
    skipped = [a for a in actions if a.verb == "skip"]
    assert all("goes with kind cluster mnist-e2e" in a.why for a in skipped)


def test_keep_skips_everything() -> None:
    actions = plan_teardown(kind_run(created=True), keep=True)
    assert {a.verb for a in actions} == {"skip"}
    assert all("--keep" in a.why for a in actions)
    assert to_check(kind_run(created=True), keep=True) == []


def test_gke_bucket_goes_after_the_namespace() -> None:
    ledger = [
        Resource("bucket", "b", {"project": "p"}),
        Resource("namespace", NS, CTX),
        Resource("kfp-run", NS, {"id": "r"}),
    ]
    assert [a.resource.kind for a in plan_teardown(ledger)] == ["kfp-run", "namespace", "bucket"]


def test_order_lists_every_kind_the_deleters_know() -> None:
    groups = {g.split("/")[0] for g in ORDER}
    assert set(deleters.DELETERS) <= groups | {"k8s-object"}


def test_execute_is_best_effort_and_says_what_failed() -> None:
    resources = [
        Resource("tempdir", "a", {}),
        Resource("bucket", "b", {}),
        Resource("odd", "c", {}),
    ]

    def explode(resource: Resource) -> str:
        raise RuntimeError("403 forbidden")

    lines = execute(
        plan_teardown(resources),
        {"tempdir": lambda r: f"tempdir {r.name}: removed", "bucket": explode},
    )
    assert "tempdir a: removed" in lines
    assert any("bucket b: FAILED to delete: 403 forbidden" in line for line in lines)
    assert any("odd c: no deleter" in line for line in lines)


def test_teardown_from_a_real_ledger_removes_the_temp_dir_and_checks_it(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "run" / "ledger.jsonl")
    scratch = tmp_path / "export-copy"
    (scratch / "export" / "1").mkdir(parents=True)
    ledger.record(Resource("tempdir", str(scratch), {"path": str(scratch)}))
    lines = deleters.teardown(ledger.resources())
    assert lines == [f"tempdir {scratch}: removed"]
    assert not scratch.exists()
    assert deleters.leftovers(ledger.resources()) == []


def test_leftovers_reports_what_is_still_there(tmp_path: Path) -> None:
    survivor = tmp_path / "still-here"
    survivor.mkdir()
    resources = [Resource("tempdir", str(survivor), {"path": str(survivor)})]
    assert deleters.leftovers(resources) == [f"tempdir {survivor} still exists"]
    assert deleters.leftovers(resources, keep=True) == []


@pytest.mark.parametrize("state", ["SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"])
def test_final_kfp_states_are_not_terminated(state: str) -> None:
    assert state in deleters.KFP_FINAL_STATES
    assert "RUNNING" not in deleters.KFP_FINAL_STATES


def test_teardown_deletes_in_order_over_the_api_and_checks_nothing_is_left(tmp_path: Path) -> None:
    """A kind run's Kubernetes objects, deleted through the real client from the ledger."""
    import yaml

    from tests.test_cluster_platform import api_server

    pvs = ["mnist-model-1-serving", "mnist-model-1-pipeline"]
    gone = {"kind": "Status", "code": 404, "message": "not found"}
    routes = {
        "DELETE /api/v1/namespaces/kubeflow/persistentvolumeclaims/model-x": lambda q: (200, {}),
        f"DELETE /api/v1/namespaces/{NS}": lambda q: (200, {"metadata": {"name": NS}}),
        "/api/v1/namespaces": lambda q: (200, {"metadata": {"resourceVersion": "9"}, "items": []}),
        **{f"DELETE /api/v1/persistentvolumes/{pv}": (lambda q: (200, {})) for pv in pvs},
        # Afterwards every one of them answers 404.
        **{f"/api/v1/persistentvolumes/{pv}": (lambda q: (404, gone)) for pv in pvs},
        "/api/v1/namespaces/kubeflow/persistentvolumeclaims/model-x": lambda q: (404, gone),
        f"/api/v1/namespaces/{NS}": lambda q: (404, gone),
    }
    seen: list[str] = []
    with api_server(routes, seen) as host:
        config = tmp_path / "kubeconfig"
        config.write_text(
            yaml.safe_dump(
                {
                    "clusters": [{"name": "c", "cluster": {"server": host}}],
                    "users": [{"name": "u", "user": {}}],
                    "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
                }
            )
        )
        ctx = {"context": "ctx", "kubeconfig": str(config)}
        ledger = Ledger(tmp_path / "ledger.jsonl")
        ledger.record(Resource("kind-cluster", "mnist-e2e", {"created": False, **ctx}))
        ledger.record(Resource("namespace", NS, ctx))
        for pv in pvs:
            details = {
                **ctx,
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "namespace": None,
                "name": pv,
            }
            ledger.record(Resource("k8s-object", f"PersistentVolume {pv}", details))
        claim = {**ctx, "apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": "model-x"}
        ledger.record(
            Resource(
                "k8s-object",
                "PersistentVolumeClaim kubeflow/model-x",
                {**claim, "namespace": "kubeflow"},
            )
        )
        ledger.record(
            Resource(
                "k8s-object", f"PersistentVolumeClaim {NS}/model-x", {**claim, "namespace": NS}
            )
        )
        lines = deleters.teardown(ledger.resources())
        left = deleters.leftovers(ledger.resources())
    deletes = [s for s in seen if s.startswith("DELETE")]
    assert deletes == [
        "DELETE /api/v1/namespaces/kubeflow/persistentvolumeclaims/model-x",
        f"DELETE /api/v1/namespaces/{NS}",
        "DELETE /api/v1/persistentvolumes/mnist-model-1-pipeline",
        "DELETE /api/v1/persistentvolumes/mnist-model-1-serving",
    ]
    assert f"namespace {NS}: deleted (and everything in it)" in lines
    assert any("skipped, adopted" in line for line in lines)
    assert left == []
