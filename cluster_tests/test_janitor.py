"""The janitor on the real cluster: it deletes labelled objects and never an unlabelled one."""

from __future__ import annotations

import secrets
import time

import pytest
from kubernetes import client as k8s

from fixtures import janitor
from fixtures.cluster import objects
from fixtures.naming import new_run_id
from fixtures.platforms.kind import KindPlatform
from kubekit.constants import run_labels


@pytest.mark.last(1)  # it removes every labelled object on the cluster, the shared run's too
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
    objects.apply_objects(
        cluster.api(),
        [*namespaces, volume],
        ledger=cluster.ledger,
        context=cluster.context,
        kubeconfig=cluster.kubeconfig,
    )
    time.sleep(2)  # the TTL below is 1s: both namespaces must be older than it
    status = janitor.main(
        ["--platform", "kind", "--older-than", "1s", "--kube-context", cluster.context]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    core = k8s.CoreV1Api(cluster.api())
    phases = {name: objects.namespace_phase(cluster.api(), name) for name in (labelled, decoy)}
    assert phases[labelled] in (None, "Terminating"), f"labelled namespace kept: {phases}; {out}"
    assert phases[decoy] == "Active", f"the unlabelled decoy was touched: {phases}; {out}"
    assert (
        core.read_persistent_volume(volume["metadata"]["name"]).metadata.deletion_timestamp is None
    )
    assert f"namespace {decoy}" not in out, out
