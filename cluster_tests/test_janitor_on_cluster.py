"""The janitor on the real cluster: it deletes labelled objects and never an unlabelled one."""

from __future__ import annotations

import secrets
import time

import pytest
from kubernetes import client as k8s

from fixtures.__main__ import main
from fixtures.created.kube_resources import CreatedObject
from fixtures.naming import new_run_id
from fixtures.platforms.kind import KindPlatform
from kubekit import objects
from kubekit.constants import run_labels


@pytest.mark.last(2)  # it removes every labelled object on the cluster, the shared run's too
def test_the_janitor_removes_labelled_objects_and_spares_an_unlabelled_decoy(
    cluster: KindPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    suffix = secrets.token_hex(3)
    labelled, decoy = f"tier-labelled-{suffix}", f"tier-decoy-{suffix}"
    volume = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"tier-decoy-{suffix}"},
        "spec": {
            "capacity": {"storage": "1Mi"},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "",
            "hostPath": {"path": f"/var/local/tier-decoy-{suffix}", "type": "DirectoryOrCreate"},
        },
    }
    namespaces = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": labelled, "labels": run_labels(new_run_id())},
        },
        # the decoy looks like the harness's but lacks managed-by: not the harness's to delete
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": decoy, "labels": {"mnist-e2e/run-id": new_run_id()}},
        },
    ]
    CreatedObject.apply_all(
        cluster.api(),
        [*namespaces, volume],
        ledger=cluster.ledger,
        context=cluster.context,
        kubeconfig=cluster.kubeconfig,
    )
    time.sleep(2)  # the TTL below is 1s: both namespaces must be older than it
    argv = [
        "janitor",
        "--platform",
        "kind",
        "--older-than",
        "1s",
        "--kube-context",
        cluster.context,
    ]
    assert main([*argv, "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert f"would delete namespace {labelled}" in dry, dry
    assert objects.Namespace(cluster.api(), labelled).phase() == "Active", "a dry run deleted"
    status = main(argv)
    out = capsys.readouterr().out
    assert status == 0, out
    core = k8s.CoreV1Api(cluster.api())
    phases = {name: objects.Namespace(cluster.api(), name).phase() for name in (labelled, decoy)}
    assert phases[labelled] is None, f"labelled namespace kept: {phases}; {out}"
    assert phases[decoy] == "Active", f"the unlabelled decoy was touched: {phases}; {out}"
    assert (
        core.read_persistent_volume(volume["metadata"]["name"]).metadata.deletion_timestamp is None
    )
    assert f"namespace {decoy}" not in out + dry, out
