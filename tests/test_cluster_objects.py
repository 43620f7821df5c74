"""Creating, deleting and waiting on the run's Kubernetes objects, through the real client
against a scripted API server on loopback (tests/fake_apiserver.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient, Configuration

from fixtures.cluster import kfp_install, objects
from fixtures.ledger import Ledger
from kubekit.constants import run_labels
from kubekit.exceptions import ActionFailed
from tests.fake_apiserver import (
    FakeApiServer,
    is_watch,
    pod_list,
    serving,
    status_body,
)
from tests.loopback_http import JsonLines, Request, serve

RUN = "mnist-e2e-20261125t120000z-abcd"
NAMESPACES = "/api/v1/namespaces"


def test_namespace_is_labelled_and_a_terminating_409_is_retried(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    with serving(FakeApiServer()) as fake:
        fake.route(
            "POST",
            NAMESPACES,
            (409, status_body(409, f'object is being deleted: namespaces "{RUN}" already exists')),
            (201, {"metadata": {"name": RUN}}),
        )
        objects.create_namespace(
            fake.client(), RUN, run_labels(RUN), ledger=ledger, context="c", kubeconfig=None
        )
        posts = fake.seen("POST", NAMESPACES)
    assert len(posts) == 2
    assert posts[-1].body["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "mnist-e2e",
        "mnist-e2e/run-id": RUN,
    }
    assert [(r.kind, r.name) for r in ledger.resources()] == [("namespace", RUN)]


def test_a_live_namespace_of_that_name_is_never_adopted(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    with serving(FakeApiServer()) as fake:
        fake.route(
            "POST", NAMESPACES, (409, status_body(409, f'namespaces "{RUN}" already exists'))
        )
        with pytest.raises(ActionFailed, match="already exists"):
            objects.create_namespace(
                fake.client(), RUN, run_labels(RUN), ledger=ledger, context="c", kubeconfig=None
            )
    assert ledger.resources() == []  # so teardown will not delete someone else's namespace


def test_applied_objects_are_recorded_with_what_deletes_them(tmp_path: Path) -> None:
    from pipeline.deploy import render

    ledger = Ledger(tmp_path / "ledger.jsonl")
    rbac = render.rbac_objects("kind", namespace=RUN, run_id=RUN)
    with serving(FakeApiServer()) as fake:
        for obj in rbac:
            from pipeline.deploy.apply import resource_path

            fake.route("PATCH", resource_path(obj), (200, obj))
        names = objects.apply_objects(
            fake.client(), rbac, ledger=ledger, context="c", kubeconfig="/k"
        )
    assert names == [f"Role {RUN}/mnist-e2e-deployer", f"RoleBinding {RUN}/mnist-e2e-deployer"]
    details = ledger.resources()[0].details
    assert details == {
        "context": "c",
        "kubeconfig": "/k",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "namespace": RUN,
        "name": "mnist-e2e-deployer",
    }


def test_delete_object_says_already_gone_on_404() -> None:
    details = {"apiVersion": "v1", "kind": "PersistentVolume", "name": "pv-1", "namespace": None}
    with serving(FakeApiServer()) as fake:
        fake.route(
            "DELETE",
            "/api/v1/persistentvolumes/pv-1",
            (200, {}),
            (404, status_body(404, "not found")),
        )
        assert objects.delete_object(fake.client(), details) == "PersistentVolume pv-1: deleted"
        assert (
            objects.delete_object(fake.client(), details) == "PersistentVolume pv-1: already gone"
        )
        fake.route("GET", "/api/v1/persistentvolumes/pv-1", (404, status_body(404, "not found")))
        assert objects.object_exists(fake.client(), details) is False


def test_delete_namespace_waits_until_it_is_gone() -> None:
    gone = {"kind": "NamespaceList", "metadata": {"resourceVersion": "5"}, "items": []}
    with serving(FakeApiServer()) as fake:
        fake.route("DELETE", f"{NAMESPACES}/{RUN}", (200, {"metadata": {"name": RUN}}))
        fake.route("GET", NAMESPACES, (200, gone))
        line = objects.delete_namespace(fake.client(), RUN, timeout=10)
        (listed,) = fake.seen("GET", NAMESPACES)
    assert line == f"namespace {RUN}: deleted (and everything in it)"
    assert listed.query["fieldSelector"] == [f"metadata.name={RUN}"]


PODS = "/api/v1/namespaces/kubeflow/pods"


@contextmanager
def list_and_watch(routes: dict[str, tuple[dict, list[dict]]]) -> Iterator[ApiClient]:
    """An API server on loopback: a request for a path answers its object list, or with
    ``?watch=true`` streams its events as JSON lines; other paths are 404. Yields a real
    ApiClient pointed at it."""

    def answer(request: Request) -> tuple[int, Any]:
        listed, events = routes.get(request.path, ({}, []))
        code = 200 if request.path in routes else 404
        return code, JsonLines(events) if is_watch(request.query) else listed

    with serve(answer) as url:
        client = ApiClient(Configuration(host=url))
        try:
            yield client
        finally:
            client.close()


def kfp_deployment(name: str, available: int, rv: str = "3") -> dict:
    return {
        "metadata": {"name": name, "namespace": "kubeflow", "generation": 1, "resourceVersion": rv},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "spec": {"containers": [{"name": name, "image": f"ghcr.io/kubeflow/{name}:2.5.0"}]}
            },
        },
        "status": {
            "observedGeneration": 1,
            "updatedReplicas": available,
            "availableReplicas": available,
        },
    }


def test_kfp_install_is_waited_for_by_readiness() -> None:
    deployments = "/apis/apps/v1/namespaces/kubeflow/deployments"
    routes = {
        deployments: (
            {"metadata": {"resourceVersion": "3"}, "items": [kfp_deployment("ml-pipeline", 0)]},
            [{"type": "MODIFIED", "object": kfp_deployment("ml-pipeline", 1, "4")}],
        ),
        PODS: (pod_list([]), []),
    }
    started = time.monotonic()
    with list_and_watch(routes) as api:
        kfp_install.wait_ready(api, timeout=30)
        assert kfp_install.installed_version(api) == "2.5.0"
    assert time.monotonic() - started < 10  # woken by the event, not by polling


def test_kfp_install_commands_are_pinned() -> None:
    argvs = kfp_install.install_argvs("kind-x", "2.5.0")
    assert [a[3:5] for a in argvs] == [
        ["apply", "-k"],
        ["wait", "--for"],
        ["apply", "-k"],
    ]
    assert all(a[-1].endswith("?ref=2.5.0") for a in (argvs[0], argvs[2]))
    assert "platform-agnostic" in argvs[2][-1]
    assert "delete -k" in kfp_install.uninstall_hint("kind-x", "2.5.0")
    assert "installing KFP 2.5.0" in kfp_install.version_note(None, "2.5.0")
    assert "not the pinned" in kfp_install.version_note("2.4.0", "2.5.0")
