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

from fixtures.cluster import kfp_install, objects, retry
from fixtures.cluster.waits import Decision, WaitTimeout, watch_until
from fixtures.ledger import Ledger
from fixtures.naming import run_labels
from fixtures.waits import WaitFailed
from tests.fake_apiserver import (
    FakeApiServer,
    is_watch,
    pod_json,
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
        with pytest.raises(retry.ActionFailed, match="already exists"):
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
            from kubekit import objects as kinds  # pipeline.deploy.apply is gone (deploy-kit)

            fake.route("PATCH", kinds.of(None, obj).path, (200, obj))
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


def test_watch_fails_fast_when_a_watched_pod_turns_fatal() -> None:
    from kubernetes import client as k8s

    from fixtures.cluster import classify

    def decide(pods: list) -> Decision:
        found = classify.run_pods_failure(pods, classify.datetime.now(classify.UTC))
        return Decision(failed=found.message if found else None, status=f"{len(pods)} pods")

    routes = {
        PODS: (
            pod_list([pod_json("train", "kubeflow", {}, "ContainerCreating")], "7"),
            [{"type": "MODIFIED", "object": pod_json("train", "kubeflow", {}, "ImagePullBackOff")}],
        )
    }
    started = time.monotonic()
    with list_and_watch(routes) as api:
        core = k8s.CoreV1Api(api)
        with pytest.raises(WaitFailed, match="ImagePullBackOff"):
            watch_until(
                "pods",
                core.list_namespaced_pod,
                decide,
                timeout=30,
                list_kwargs={"namespace": "kubeflow"},
            )
    assert time.monotonic() - started < 10  # failed on the event, not at the deadline


def test_watch_times_out_saying_what_it_saw_last() -> None:
    from kubernetes import client as k8s

    ticks = iter(range(0, 1000, 50))
    with serving(FakeApiServer()) as fake:
        fake.route("GET", PODS, (200, pod_list([], "1")))
        core = k8s.CoreV1Api(fake.client())
        with pytest.raises(WaitTimeout, match=r"timed out after .*last seen: still nothing"):
            watch_until(
                "pods",
                core.list_namespaced_pod,
                lambda pods: Decision(status="still nothing"),
                timeout=60,
                list_kwargs={"namespace": "kubeflow"},
                clock=lambda: float(next(ticks)),
            )


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
