"""KFP's manifests made air-gapped: remote Argo references resolved to the local copy, the
left-out components dropped, every image (containers, executor flag, executor plugins, the
API server's driver/launcher variables) the local one, the claims the node cannot bind
replaced (the database's by its node directory, the object store's by an emptyDir), the
database Ready only once it takes connections — on objects shaped as KFP's manifests ship
them."""

from __future__ import annotations

import re

import pytest
import yaml

from ci.airgap.kfp_standalone import (
    DATABASE_VOLUME,
    RenderError,
    adapt,
    claims_replaced,
    image_refs,
    resolve_remote_refs,
)
from kubekit.constants import KFP_DB_NODE_DIR

LOCAL = {
    "kfp-api-server": "mnist-e2e/kfp-api-server:2.17.0-a",
    "kfp-persistence-agent": "mnist-e2e/kfp-persistence-agent:2.17.0-b",
    "kfp-driver": "mnist-e2e/kfp-driver:2.17.0-c",
    "kfp-launcher": "mnist-e2e/kfp-launcher:2.17.0-d",
    "argo-workflow-controller": "mnist-e2e/argo-workflow-controller:v4.0.5-e",
    "argoexec": "mnist-e2e/argoexec:v4.0.5-f",
    "seaweedfs": "mnist-e2e/seaweedfs:4.48-g",
    "mariadb": "mnist-e2e/mariadb:bookworm-h",
    "kfp-metadata": "mnist-e2e/kfp-metadata:stand-in-i",
}


def deployment(name: str, image: str, **container: object) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "template": {"spec": {"containers": [{"name": name, "image": image, **container}]}}
        },
    }


def with_claim(doc: dict, volume: str, claim: str) -> dict:
    """*doc* with KFP's volume *volume* on claim *claim*, as its manifests mount it."""
    doc["spec"]["template"]["spec"]["volumes"] = [
        {"name": volume, "persistentVolumeClaim": {"claimName": claim}}
    ]
    return doc


def claim(name: str) -> dict:
    """A claim as KFP's manifests, rendered into its namespace, ask for one."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "kubeflow"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}},
    }


def test_argo_remote_references_point_at_the_local_copy() -> None:
    kustomization = (
        "resources:\n"
        "- https://github.com/argoproj/argo-workflows/manifests/base/workflow-controller?ref=v4.0.5&timeout=60s\n"
        "- workflow-controller-argo-taskset-clusterrole.yaml\n"
    )
    out = resolve_remote_refs(kustomization, "v4.0.5", "../../../../argo")
    assert out.splitlines()[1] == "- ../../../../argo/base/workflow-controller"
    assert out.splitlines()[2] == "- workflow-controller-argo-taskset-clusterrole.yaml"


def test_a_reference_to_another_argo_or_any_other_remote_fails() -> None:
    with pytest.raises(RenderError, match=re.escape("v3.7.14, not the pinned v4.0.5")):
        resolve_remote_refs(
            "- https://github.com/argoproj/argo-workflows/manifests/base/crds/full?ref=v3.7.14\n",
            "v4.0.5",
            "../argo",
        )
    with pytest.raises(RenderError, match="not resolved locally"):
        resolve_remote_refs("- https://github.com/kubeflow/manifests/x?ref=v1\n", "v4.0.5", "..")


def test_every_image_is_local_and_never_pulled() -> None:
    docs = [
        deployment("ml-pipeline", "ghcr.io/kubeflow/kfp-api-server:2.17.0"),
        deployment(
            "workflow-controller",
            "quay.io/argoproj/workflow-controller:v4.0.5",
            args=["--configmap", "workflow-controller-configmap", "--executor-image",
                  "quay.io/argoproj/argoexec:v4.0.5"],
        ),
        deployment("mysql", "mysql:8.4"),
        deployment("seaweedfs", "chrislusf/seaweedfs:4.0"),
        deployment("metadata-grpc-deployment", "gcr.io/tfx-oss-public/ml_metadata_store_server:1.14.0"),
        {
            "kind": "ConfigMap",
            "metadata": {
                "name": "ml-pipeline-driver-agent",
                "labels": {"workflows.argoproj.io/configmap-type": "ExecutorPlugin"},
            },
            "data": {"sidecar.container": "image: ghcr.io/kubeflow/kfp-driver:2.17.0\nname: driver-plugin\n"},
        },
    ]  # fmt: skip
    docs[0]["spec"]["template"]["spec"]["containers"][0]["name"] = "ml-pipeline-api-server"
    out = adapt(docs, LOCAL)
    assert image_refs(out) <= set(LOCAL.values())
    containers = [d["spec"]["template"]["spec"]["containers"][0] for d in out[:5]]
    assert {c["imagePullPolicy"] for c in containers} == {"Never"}
    api_env = {e["name"]: e["value"] for e in containers[0]["env"]}
    assert api_env == {
        "V2_DRIVER_IMAGE": LOCAL["kfp-driver"],
        "V2_LAUNCHER_IMAGE": LOCAL["kfp-launcher"],
        # the left-out visualization server's address: the API server exits without it
        "ML_PIPELINE_VISUALIZATIONSERVER_SERVICE_HOST": "ml-pipeline-visualizationserver",
        "ML_PIPELINE_VISUALIZATIONSERVER_SERVICE_PORT": "8888",
    }
    assert containers[1]["args"][-1] == LOCAL["argoexec"]
    plugin = yaml.safe_load(out[5]["data"]["sidecar.container"])
    assert (plugin["image"], plugin["imagePullPolicy"]) == (LOCAL["kfp-driver"], "Never")


def test_an_image_with_no_local_build_fails_with_its_name() -> None:
    with pytest.raises(
        RenderError, match=re.escape("ghcr.io/kubeflow/kfp-frontend:2.17.0 has no local")
    ):
        adapt([deployment("something-new", "ghcr.io/kubeflow/kfp-frontend:2.17.0")], LOCAL)


def test_left_out_components_and_the_object_stores_claim_go() -> None:
    ui = deployment("ml-pipeline-ui", "ghcr.io/kubeflow/kfp-frontend:2.17.0")
    ui_service = {"kind": "Service", "metadata": {"name": "ml-pipeline-ui"}}
    envoy = {"kind": "Service", "metadata": {"name": "metadata-envoy-service"}}
    kept = claim("someone-elses-claim")
    out = adapt([ui, ui_service, envoy, claim("seaweedfs-pvc"), kept], LOCAL)
    assert out == [kept]


def test_the_databases_claim_binds_to_a_volume_of_its_own_on_the_node() -> None:
    volume, bound = adapt([claim("mysql-pv-claim")], LOCAL)
    # the volume first, so one apply of the file finds it when the claim arrives
    assert volume == {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": DATABASE_VOLUME},
        "spec": {
            "capacity": {"storage": "20Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "claimRef": {"namespace": "kubeflow", "name": "mysql-pv-claim"},
            # type Directory: a directory the kind platform did not make fails the mount,
            # where kubelet would make a root-owned one MariaDB (uid 999) could not write
            "hostPath": {"path": KFP_DB_NODE_DIR, "type": "Directory"},
        },
    }
    # an empty class: neither kind's default class nor its provisioner takes the claim
    assert bound["spec"]["storageClassName"] == ""
    assert bound["spec"]["volumeName"] == DATABASE_VOLUME


def test_the_database_mounts_its_claim_and_the_object_store_an_empty_dir() -> None:
    mysql = with_claim(
        deployment("mysql", "mysql:8.4"), "mysql-persistent-storage", "mysql-pv-claim"
    )
    seaweedfs = with_claim(
        deployment("seaweedfs", "chrislusf/seaweedfs:4.0"), "data", "seaweedfs-pvc"
    )
    database, store = adapt([mysql, seaweedfs], LOCAL)
    # no hostPath in a pod: the kubeflow namespace's PodSecurity baseline refuses one
    assert database["spec"]["template"]["spec"]["volumes"] == [
        {
            "name": "mysql-persistent-storage",
            "persistentVolumeClaim": {"claimName": "mysql-pv-claim"},
        }
    ]
    assert store["spec"]["template"]["spec"]["volumes"] == [{"name": "data", "emptyDir": {}}]
    assert seaweedfs["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]  # a copy
    assert claims_replaced() == (
        f"seaweedfs-pvc -> emptyDir, mysql-pv-claim -> PersistentVolume {DATABASE_VOLUME}"
        f" (hostPath {KFP_DB_NODE_DIR})"
    )


def test_the_database_is_ready_once_it_takes_connections() -> None:
    (database,) = adapt([deployment("mysql", "mysql:8.4")], LOCAL)
    (container,) = database["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["tcpSocket"] == {"port": 3306}
    (other,) = adapt([deployment("seaweedfs", "chrislusf/seaweedfs:4.0")], LOCAL)
    assert "readinessProbe" not in other["spec"]["template"]["spec"]["containers"][0]


def test_buildkit_only_copy_chmod_becomes_a_copy_and_a_chmod() -> None:
    from ci.airgap.kfp_standalone import legacy_dockerfile

    text = "FROM x\nCOPY --chmod=0755 a/b /usr/local/bin/b\nUSER 1\n"
    assert legacy_dockerfile(text) == (
        "FROM x\nCOPY a/b /usr/local/bin/b\nRUN chmod 0755 /usr/local/bin/b\nUSER 1\n"
    )
