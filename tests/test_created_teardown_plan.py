"""The one teardown: order, what is skipped (adopted, kept, gone with its parent), best-effort
execution and the leftover check — planned from ledger entries as runs write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.created import teardown_plan
from fixtures.created.kfp_resources import FINAL_STATES
from fixtures.created.registry import KINDS, resource_kind
from fixtures.created.resource_kind import RANKS, ResourceKind
from fixtures.ledger import Ledger, Resource

NS = "mnist-e2e-20261125t120000z-abcd"
CTX = {"context": "kind-mnist-e2e", "kubeconfig": None}


def kind_run(created: bool) -> list[Resource]:
    """A kind run's ledger in the order the platform records it."""
    return [
        Resource("kind-cluster", "mnist-e2e", {"created": created, **CTX}),
        Resource(
            "kfp-install",
            "kfp 2.17.0",
            {**CTX, "version": "2.17.0", "uninstall": "kubectl delete -k …"},
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


def names(actions: list[teardown_plan.Action], verb: str) -> list[str]:
    return [a.item.name for a in actions if a.verb == verb]


def test_adopted_cluster_is_kept_and_everything_of_the_run_deleted_in_order() -> None:
    actions = teardown_plan.plan(kind_run(created=False))
    assert names(actions, "delete") == [
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
    skipped = {a.item.name: a.why for a in actions if a.verb == "skip"}
    assert "adopted" in skipped["mnist-e2e"]
    assert "left for later runs" in skipped["kfp 2.17.0"]
    assert skipped[f"PersistentVolumeClaim {NS}/mnist-model"] == f"goes with namespace {NS}"
    assert skipped[f"Role {NS}/mnist-e2e-deployer"] == f"goes with namespace {NS}"


def test_created_cluster_is_deleted_last_and_in_cluster_things_go_with_it() -> None:
    actions = teardown_plan.plan(kind_run(created=True))
    deleted = [(a.item.kind, a.item.name) for a in actions if a.verb == "delete"]
    assert deleted[-1] == ("kind-cluster", "mnist-e2e")
    assert {kind for kind, _ in deleted} == {"process", "tempdir", "kind-cluster"}
    skipped = [a for a in actions if a.verb == "skip"]
    assert all("goes with kind-cluster mnist-e2e" in a.why for a in skipped)


def test_a_kept_cluster_keeps_what_is_inside_it_deletable() -> None:
    ledger = kind_run(created=True)
    ledger[0] = Resource("kind-cluster", "mnist-e2e", {"created": True, "keep": True, **CTX})
    actions = teardown_plan.plan(ledger)
    assert "kept (--keep-cluster)" in next(a.why for a in actions if a.item.name == "mnist-e2e")
    assert NS in names(actions, "delete")


def test_an_object_goes_only_with_its_namespace_on_the_same_cluster() -> None:
    other = {"context": "kind-other", "kubeconfig": None}
    ledger = [
        Resource("namespace", NS, CTX),
        Resource("k8s-object", f"Role {NS}/r", {**other, "kind": "Role", "namespace": NS}),
    ]
    assert names(teardown_plan.plan(ledger), "delete") == [f"Role {NS}/r", NS]


def test_keep_skips_everything() -> None:
    actions = teardown_plan.plan(kind_run(created=True), keep=True)
    assert {a.verb for a in actions} == {"skip"}
    assert all("--keep" in a.why for a in actions)
    assert teardown_plan.leftovers(kind_run(created=True), keep=True) == []


def test_gke_bucket_goes_after_the_namespace() -> None:
    ledger = [
        Resource("bucket", "b", {"project": "p"}),
        Resource("namespace", NS, CTX),
        Resource("kfp-run", NS, {"id": "r"}),
    ]
    assert [a.item.kind for a in teardown_plan.plan(ledger)] == ["kfp-run", "namespace", "bucket"]


def test_an_emulator_bucket_goes_with_the_emulator_process() -> None:
    ledger = [
        Resource("process", "gcs-emulator", {"pid": 1, "ports": [4443]}),
        Resource("bucket", "b", {"emulator": "http://127.0.0.1:4443"}),
        Resource("process", "web-ui", {"pid": 2, "ports": [5000]}),
    ]
    actions = teardown_plan.plan(ledger)
    assert names(actions, "delete") == ["web-ui", "gcs-emulator"]
    assert next(a.why for a in actions if a.item.name == "b") == "goes with process gcs-emulator"


def test_every_kind_has_a_rank_and_a_class() -> None:
    registered = KINDS
    assert set(registered) == {
        "process",
        "tempdir",
        "bucket",
        "k8s-object",
        "namespace",
        "kfp-run",
        "kfp-experiment",
        "kfp-install",
        "kind-cluster",
        "docker-network",
        "docker-container",
        "docker-image-tags",
        "node-dir",
    }
    ranks = {cls(Resource(kind, "x", {"namespace": "n"})).rank for kind, cls in registered.items()}
    ranks |= {resource_kind(Resource("k8s-object", "x", {})).rank}
    assert ranks <= set(RANKS)
    assert all(issubclass(cls, ResourceKind) for cls in registered.values())


def test_execute_is_best_effort_and_says_what_failed(tmp_path: Path) -> None:
    gone_dir = tmp_path / "a"
    gone_dir.mkdir()
    not_a_dir = tmp_path / "b"
    not_a_dir.write_text("rmtree refuses a file")
    resources = [
        Resource("tempdir", "a", {"path": str(gone_dir)}),
        Resource("tempdir", "b", {"path": str(not_a_dir)}),
        Resource("odd", "c", {}),
    ]
    done = teardown_plan.execute(teardown_plan.plan(resources))
    lines = [outcome.line for outcome in done]
    assert f"tempdir {gone_dir}: removed" in lines
    assert any("tempdir b: FAILED to delete: NotADirectoryError" in line for line in lines)
    assert [o.failed for o in done if "tempdir b" in o.line] == [True]
    assert any("odd c: no deleter for this kind; LEFT" in line for line in lines)
    assert not gone_dir.exists()


def test_teardown_from_a_real_ledger_removes_the_temp_dir_and_checks_it(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "run" / "ledger.jsonl")
    scratch = tmp_path / "export-copy"
    (scratch / "export" / "1").mkdir(parents=True)
    ledger.record(Resource("tempdir", str(scratch), {"path": str(scratch)}))
    lines = teardown_plan.teardown(ledger.resources())
    assert lines == [f"tempdir {scratch}: removed"]
    assert not scratch.exists()
    assert teardown_plan.leftovers(ledger.resources()) == []


def test_leftovers_reports_what_is_still_there(tmp_path: Path) -> None:
    survivor = tmp_path / "still-here"
    survivor.mkdir()
    resources = [Resource("tempdir", str(survivor), {"path": str(survivor)})]
    assert teardown_plan.leftovers(resources) == [f"tempdir {survivor} still exists"]
    assert teardown_plan.leftovers(resources, keep=True) == []


@pytest.mark.parametrize("state", ["SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"])
def test_final_kfp_states_are_not_terminated(state: str) -> None:
    assert state in FINAL_STATES
    assert "RUNNING" not in FINAL_STATES


def test_keep_cluster_keeps_kinds_network_with_the_cluster_and_teardown_kept_deletes_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fixtures import lifecycle

    keep = {"created": True, "keep": True, **CTX}
    ledger = Ledger(tmp_path / "ledger.jsonl")
    for resource in [
        Resource("kind-cluster", "mnist-e2e", keep),
        Resource("docker-network", "kind", {"keep": True}),
        *kind_run(created=True)[1:],
    ]:
        ledger.record(resource)
    actions = teardown_plan.plan(ledger.resources())
    assert "kind" not in names(actions, "delete") and "mnist-e2e" not in names(actions, "delete")
    assert NS in names(actions, "delete")

    planned: list[list[str]] = []

    def record_plan(resources: list[Resource], **kwargs: object) -> list[str]:
        planned.append(names(teardown_plan.plan(resources), "delete"))
        return []

    monkeypatch.setattr(teardown_plan, "teardown", record_plan)
    monkeypatch.setattr(teardown_plan, "leftovers", lambda resources, **kwargs: [])
    lifecycle.tear_down(ledger, kept_too=True)
    # --kept: the cluster and the network are deleted; what was inside goes with the cluster
    assert {"mnist-e2e", "kind"} <= set(planned[0]) and NS not in planned[0]
    assert ledger.resources()[0].details["keep"] is True  # the ledger itself is not rewritten
