"""The toolkit's objects and the run's resource kinds against the real API server: a live
namespace is never adopted, deleting what is gone says so, a namespace's deletion is waited
for, and the KFP install wait wakes on a watch event."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from fixtures.created.clients import Clients
from fixtures.created.kube_resources import CreatedNamespace, CreatedObject
from fixtures.kind import kfp_install
from fixtures.ledger import Ledger
from fixtures.platforms.kind import KindPlatform
from kubekit import objects
from kubekit.constants import run_labels
from kubekit.exceptions import Conflict, NotFound


def test_a_live_namespace_of_that_name_is_never_adopted(
    cluster: KindPlatform, tmp_path: Path
) -> None:
    name = f"tier-live-{secrets.token_hex(3)}"
    first = Ledger(tmp_path / "first.jsonl")
    CreatedNamespace.create(
        cluster.api(), name, run_labels("x"), ledger=first, context=cluster.context, kubeconfig=None
    )
    second = Ledger(tmp_path / "second.jsonl")
    with pytest.raises(Conflict) as raised:
        CreatedNamespace.create(
            cluster.api(), name, {}, ledger=second, context=cluster.context, kubeconfig=None
        )
    assert f"create Namespace {name}" in str(raised.value), raised.value
    assert second.resources() == [], "a run recorded (so would delete) a namespace not its own"
    assert [r.name for r in first.resources()] == [name]
    with Clients() as clients:
        line = CreatedNamespace(first.resources()[0]).delete(clients)
    assert line == f"namespace {name}: deleted (and everything in it)"
    assert objects.Namespace(cluster.api(), name).phase() is None, "delete returned too early"


def test_deleting_what_is_gone_says_so_and_reading_it_is_not_found(cluster: KindPlatform) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": f"tier-gone-{secrets.token_hex(3)}", "namespace": "default"},
    }
    entry = CreatedObject.entry_for(body, cluster.context, cluster.kubeconfig)
    with Clients() as clients:
        item = CreatedObject(entry)
        assert item.delete(clients).endswith(": already gone")
        assert item.still_there(clients) is None
    with pytest.raises(NotFound) as raised:
        objects.of(cluster.api(), body).read()
    assert raised.value.status == 404 and "read PersistentVolumeClaim default/" in str(raised.value)


def test_apply_converges_and_the_ledger_entry_deletes_the_object(
    cluster: KindPlatform, tmp_path: Path
) -> None:
    name = f"tier-sa-{secrets.token_hex(3)}"
    body = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": "default", "labels": {"try": "1"}},
    }
    ledger = Ledger(tmp_path / "ledger.jsonl")
    CreatedObject.apply_all(
        cluster.api(), [body], ledger=ledger, context=cluster.context, kubeconfig=None
    )
    body["metadata"]["labels"] = {"try": "2"}
    CreatedObject.apply_all(
        cluster.api(), [body], ledger=ledger, context=cluster.context, kubeconfig=None
    )
    account = objects.ServiceAccount(cluster.api(), name, "default")
    assert account.read().metadata.labels == {"try": "2"}
    with Clients() as clients:
        lines = [CreatedObject(r).delete(clients) for r in ledger.resources()]
        assert lines[0] == f"ServiceAccount default/{name}: deleted"
        assert CreatedObject(ledger.resources()[0]).still_there(clients) is None
    assert not account.exists()


def test_the_kfp_install_wait_returns_once_its_deployments_are_available(
    run: KindPlatform,
) -> None:
    """A Deployment named like KFP's API server (the project image, sleeping) stands in for
    the install, in a namespace of its own (other tests' pods in kubeflow must not count):
    the wait must see it available, and read the version off its image tag."""
    namespace = f"tier-kfp-{secrets.token_hex(3)}"
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "ml-pipeline",
            "namespace": namespace,
            "labels": run_labels(run.run_id),
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "tier-ml-pipeline"}},
            "template": {
                "metadata": {"labels": {"app": "tier-ml-pipeline"}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [
                        {
                            "name": "sleep",
                            "image": run.image,
                            "imagePullPolicy": "Never",
                            "command": ["sleep", "3600"],
                        }
                    ],
                },
            },
        },
    }
    CreatedNamespace.create(
        run.api(),
        namespace,
        run_labels(run.run_id),
        ledger=run.ledger,
        context=run.context,
        kubeconfig=run.kubeconfig,
    )
    assert kfp_install.installed_version(run.api(), namespace) is None
    CreatedObject.apply_all(
        run.api(), [deployment], ledger=run.ledger, context=run.context, kubeconfig=None
    )
    kfp_install.wait_ready(run.api(), timeout=180, namespace=namespace)
    assert kfp_install.installed_version(run.api(), namespace) == str(run.image).rsplit(":", 1)[1]
