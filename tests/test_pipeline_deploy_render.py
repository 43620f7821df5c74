"""What the deploy steps apply: the rendered overlays, set up for one run, values checked."""

import json
import re

import pytest
from kubernetes.client import ApiClient

from ci.validate import semantics
from pipeline.deploy import render

RUN = {"namespace": "mnist-e2e-20261124t120000z-beef", "run_id": "mnist-e2e-20261124t120000z-beef"}


def typed(obj, kind):
    """*obj* through the client's own deserializer, as the API would hand it back."""

    class Response:
        data = json.dumps(obj)

    return ApiClient().deserialize(Response(), kind)


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def test_tf_serving_image_constant_matches_the_manifest():
    deployment = next(
        o
        for o in render.load_overlay("kind")
        if o["metadata"]["name"] == render.SERVING_NAME and o["kind"] == "Deployment"
    )
    assert (
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] == render.TF_SERVING_IMAGE
    )


def test_kind_serving_reads_the_pvc_under_mnt():
    objects = render.serving_objects(
        "kind", model_base_path="/mnt/runs/export/", pvc_name="model-abc", **RUN
    )
    assert sorted(o["kind"] for o in objects) == ["Deployment", "Service"]
    deployment = typed(by_kind(objects, "Deployment")[0], "V1Deployment")
    container = deployment.spec.template.spec.containers[0]
    assert "--model_base_path=/mnt/runs/export" in container.args
    assert container.image == render.TF_SERVING_IMAGE
    assert container.image_pull_policy == "IfNotPresent"
    volumes = {v.name: v for v in deployment.spec.template.spec.volumes}
    assert volumes["model"].persistent_volume_claim.claim_name == "model-abc"
    assert all(o["metadata"]["namespace"] == RUN["namespace"] for o in objects)


def test_every_object_and_pod_template_carries_the_run_labels():
    objects = render.serving_objects("kind", model_base_path="/mnt/export", **RUN)
    objects += render.web_ui_objects(
        "kind", image="mnist-e2e:abc", model_server="tf-serving:9000", **RUN
    )
    assert semantics.harness_labels(objects, run_id=RUN["run_id"]) == []
    deployment = by_kind(objects, "Deployment")[0]
    # Selectors stay as the base has them: immutable, and the namespace already isolates runs.
    assert render.RUN_ID_LABEL not in deployment["spec"]["selector"]["matchLabels"]


def test_rendering_never_changes_the_loaded_overlay():
    before = render.load_overlay("kind")
    render.serving_objects("kind", model_base_path="/mnt/export", **RUN)
    assert render.load_overlay("kind") == before


def test_gke_serving_reads_gcs_with_workload_identity():
    objects = render.serving_objects(
        "gke",
        model_base_path="gs://bucket-1/runs/export",
        gcp_service_account="reader@proj-1.iam.gserviceaccount.com",
        **RUN,
    )
    assert sorted(o["kind"] for o in objects) == ["Deployment", "Service", "ServiceAccount"]
    account = by_kind(objects, "ServiceAccount")[0]
    assert account["metadata"]["annotations"][render.GSA_ANNOTATION] == (
        "reader@proj-1.iam.gserviceaccount.com"
    )
    pod = by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "tf-serving"
    assert not any("persistentVolumeClaim" in v for v in pod["volumes"])
    assert "--model_base_path=gs://bucket-1/runs/export" in pod["containers"][0]["args"]


def test_gke_serving_reads_a_gcs_emulator_when_given_one_and_kind_refuses_it():
    objects = render.serving_objects(
        "gke",
        model_base_path="gs://bucket-1/export",
        storage_emulator_host="http://172.18.0.9:9023",
        **RUN,
    )
    container = by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "STORAGE_EMULATOR_HOST", "value": "http://172.18.0.9:9023"} in container["env"]
    with pytest.raises(render.RenderError, match="is for the gke overlay, not 'kind'"):
        render.serving_objects(
            "kind", model_base_path="/mnt/export", storage_emulator_host="http://e:9023", **RUN
        )


def test_gke_without_workload_identity_drops_the_annotation_and_can_mount_a_key():
    objects = render.serving_objects(
        "gke", model_base_path="gs://bucket-1/export", gcp_secret="gcp-key", **RUN
    )
    account = by_kind(objects, "ServiceAccount")[0]
    assert render.GSA_ANNOTATION not in account["metadata"].get("annotations", {})
    pod = by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]
    assert {"name": "gcp-key", "secret": {"secretName": "gcp-key", "defaultMode": 0o440}} in pod[
        "volumes"
    ]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == "/var/secrets/google/key.json"


def test_web_ui_is_configured_with_the_model_server_and_service_type():
    objects = render.web_ui_objects(
        "gke",
        image="us-docker.pkg.dev/p/r/mnist-e2e:0123abc",
        model_server="tf-serving.ns.svc:9000",
        service_type="LoadBalancer",
        **RUN,
    )
    deployment = typed(by_kind(objects, "Deployment")[0], "V1Deployment")
    container = deployment.spec.template.spec.containers[0]
    assert container.image == "us-docker.pkg.dev/p/r/mnist-e2e:0123abc"
    env = {e.name: e.value for e in container.env}
    assert env["MNIST_UI_MODEL_SERVERS"] == "default=tf-serving.ns.svc:9000"
    assert by_kind(objects, "Service")[0]["spec"]["type"] == "LoadBalancer"


def test_rbac_binds_the_runner_account_given():
    objects = render.rbac_objects(
        "kind", runner_service_account="default-editor", runner_namespace="team-a", **RUN
    )
    binding = by_kind(objects, "RoleBinding")[0]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "default-editor", "namespace": "team-a"}
    ]
    assert binding["metadata"]["namespace"] == RUN["namespace"]


def test_rbac_is_least_privilege():
    kind_role = by_kind(render.rbac_objects("kind", **RUN), "Role")[0]
    verbs = {
        (group, resource): set(rule["verbs"])
        for rule in kind_role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert verbs[("apps", "deployments")] == {"get", "list", "watch", "create", "patch"}
    assert verbs[("", "services")] == {"get", "list", "watch", "create", "patch"}
    assert verbs[("", "pods/log")] == {"get", "list", "watch"}
    assert not any("delete" in v or "*" in v for v in verbs.values())
    assert ("", "serviceaccounts") not in verbs  # only gke deploys one
    gke_role = by_kind(render.rbac_objects("gke", **RUN), "Role")[0]
    assert {
        "apiGroups": [""],
        "resources": ["serviceaccounts"],
        "verbs": ["get", "create", "patch"],
    } in gke_role["rules"]


def test_kind_storage_bridges_the_pipeline_and_the_run_namespace():
    objects = render.storage_objects("kind", pvc_name="model-abc", size="2Gi", **RUN)
    assert [(o["kind"], o["metadata"].get("namespace")) for o in objects] == [
        ("PersistentVolume", None),
        ("PersistentVolumeClaim", RUN["namespace"]),
        ("PersistentVolume", None),
        ("PersistentVolumeClaim", "kubeflow"),
    ]
    serving_pv, serving_pvc, pipeline_pv, pipeline_pvc = objects
    # One directory on the node, seen through two claims of the same name.
    path = f"/var/local/mnist-e2e/{RUN['namespace']}"
    assert (
        serving_pv["spec"]["hostPath"]
        == pipeline_pv["spec"]["hostPath"]
        == {
            "path": path,
            "type": "Directory",
        }
    )
    assert serving_pvc["metadata"]["name"] == pipeline_pvc["metadata"]["name"] == "model-abc"
    assert serving_pvc["spec"]["volumeName"] == serving_pv["metadata"]["name"]
    assert pipeline_pvc["spec"]["volumeName"] == pipeline_pv["metadata"]["name"]
    assert serving_pv["spec"]["claimRef"] == {"namespace": RUN["namespace"], "name": "model-abc"}
    assert pipeline_pv["spec"]["claimRef"] == {"namespace": "kubeflow", "name": "model-abc"}
    assert serving_pv["metadata"]["name"] != pipeline_pv["metadata"]["name"]
    assert {o["spec"].get("storageClassName") for o in objects} == {""}  # static binding
    assert serving_pvc["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert serving_pv["spec"]["capacity"]["storage"] == "2Gi"
    assert semantics.harness_labels(objects, run_id=RUN["run_id"]) == []
    assert semantics.references_resolve(objects) == []


def test_kind_storage_can_pin_the_node_and_needs_one_pair_in_a_shared_namespace():
    objects = render.storage_objects(
        "kind", pipeline_namespace=RUN["namespace"], node_name="mnist-e2e-control-plane", **RUN
    )
    assert [o["kind"] for o in objects] == ["PersistentVolume", "PersistentVolumeClaim"]
    term = objects[0]["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]
    assert term["matchExpressions"][0]["values"] == ["mnist-e2e-control-plane"]


def test_no_model_volume_on_gke():
    with pytest.raises(render.RenderError, match="no model volume"):
        render.storage_objects("gke", **RUN)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: render.serving_objects("kind", model_base_path="/data/export", **RUN),
            "under /mnt/",
        ),
        (
            lambda: render.serving_objects("kind", model_base_path="/mnt/../etc", **RUN),
            "under /mnt/",
        ),
        (lambda: render.serving_objects("kind", model_base_path="/mnt", **RUN), "under /mnt/"),
        (lambda: render.serving_objects("gke", model_base_path="/mnt/export", **RUN), "gs://"),
        (
            lambda: render.serving_objects(
                "kind", model_base_path="/mnt/export", image="tensorflow/serving", **RUN
            ),
            "tag or digest",
        ),
        (
            lambda: render.serving_objects(
                "kind", model_base_path="/mnt/export", image="tensorflow/serving:latest", **RUN
            ),
            ":latest",
        ),
        (
            lambda: render.serving_objects(
                "gke", model_base_path="gs://b-1/x", gcp_service_account="someone@gmail.com", **RUN
            ),
            "iam.gserviceaccount.com",
        ),
        (
            lambda: render.web_ui_objects(
                "kind", image="mnist-e2e:1", model_server="tf-serving", **RUN
            ),
            "host:port",
        ),
        (
            lambda: render.web_ui_objects(
                "kind", image="mnist-e2e:1", model_server="a:1", service_type="Ingress", **RUN
            ),
            "ClusterIP, LoadBalancer, NodePort",
        ),
        (
            lambda: render.for_run([], namespace="Bad_NS", run_id="x"),
            "not a DNS label",
        ),
        (
            lambda: render.for_run([], namespace="ns", run_id=render.RUN_ID_PLACEHOLDER),
            "label value",
        ),
        (lambda: render.load_overlay("minikube"), "kind, gke"),
        (lambda: render.storage_objects("kind", host_dir="var/x", **RUN), "absolute path"),
        (lambda: render.storage_objects("kind", host_dir="/var/../etc", **RUN), "absolute path"),
        (lambda: render.storage_objects("kind", size="1GB", **RUN), "like 512Mi"),
    ],
)
def test_bad_values_are_refused_with_the_value_and_the_rule(call, message):
    with pytest.raises(render.RenderError, match=message):
        call()


def test_a_placeholder_for_run_cannot_reach_is_refused():
    # for_run labels metadata and pod templates; a template nested deeper (a CronJob's) keeps
    # the placeholder, and the object is refused rather than applied half-labelled.
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "janitor", "labels": {render.RUN_ID_LABEL: render.RUN_ID_PLACEHOLDER}},
        "spec": {
            "jobTemplate": {
                "spec": {
                    "template": {
                        "metadata": {"labels": {render.RUN_ID_LABEL: render.RUN_ID_PLACEHOLDER}}
                    }
                }
            }
        },
    }
    with pytest.raises(
        render.RenderError, match=re.escape("spec.jobTemplate.spec.template.metadata.labels")
    ):
        render.for_run([cron], **RUN)


def test_missing_rendered_file_says_how_to_make_it(tmp_path):
    with pytest.raises(render.RenderError, match=re.escape("ci.validate.manifests --write")):
        render.load_overlay("kind", rendered_dir=tmp_path)
