"""The semantic checks catch the mistakes schemas let through, injected into real renderings."""

import copy

import pytest

from ci.validate import semantics
from pipeline.deploy import render


@pytest.fixture
def kind():
    """A deep copy of the committed kind rendering, to break."""
    return copy.deepcopy(render.load_overlay("kind"))


def get(objects, name):
    return next(o for o in objects if semantics.name_of(o) == name)


def container(objects, deployment="Deployment/tf-serving"):
    return get(objects, deployment)["spec"]["template"]["spec"]["containers"][0]


def test_the_renderings_are_clean(kind):
    assert semantics.check_all(kind) == []
    assert semantics.check_all(render.load_overlay("gke")) == []


def test_service_selector_matching_no_pods(kind):
    get(kind, "Service/tf-serving")["spec"]["selector"] = {"app.kubernetes.io/name": "tf-servin"}
    (problem,) = semantics.selectors_match(kind)
    assert problem.startswith(
        "Service/tf-serving: selector {'app.kubernetes.io/name': 'tf-servin'}"
    )
    assert "matches no workload's pod labels" in problem


def test_deployment_selector_not_matching_its_template(kind):
    template = get(kind, "Deployment/web-ui")["spec"]["template"]
    template["metadata"]["labels"]["app.kubernetes.io/name"] = "webui"
    problems = semantics.selectors_match(kind)
    assert any(p.startswith("Deployment/web-ui: selector") for p in problems)
    assert any(p.startswith("Service/web-ui: selector") for p in problems)


def test_target_port_that_no_container_exposes(kind):
    get(kind, "Service/tf-serving")["spec"]["ports"][0]["targetPort"] = "grcp"
    get(kind, "Service/web-ui")["spec"]["ports"][0]["targetPort"] = 8080
    problems = semantics.service_ports_exist(kind)
    assert len(problems) == 2
    assert "targets 'grcp', which is no container port of Deployment/tf-serving" in problems[0]
    assert "targets 8080" in problems[1]


def test_target_port_by_number_that_exists_passes(kind):
    get(kind, "Service/tf-serving")["spec"]["ports"][0]["targetPort"] = 9000
    assert semantics.service_ports_exist(kind) == []


def test_names_that_are_not_dns_labels(kind):
    get(kind, "Service/web-ui")["metadata"]["name"] = "1-web-ui"  # Services start with a letter
    get(kind, "Role/mnist-e2e-deployer")["metadata"]["name"] = "MNIST_deployer"
    container(kind)["ports"][0]["name"] = "grpc-port-name-too-long"
    problems = semantics.names_are_dns_labels(kind)
    assert "Service/1-web-ui: name '1-web-ui' is not a DNS label (RFC 1035)" in problems
    assert "Role/MNIST_deployer: name 'MNIST_deployer' is not a DNS label (RFC 1123)" in problems
    assert any("port name 'grpc-port-name-too-long'" in p for p in problems)


def test_missing_harness_labels(kind):
    del get(kind, "PersistentVolumeClaim/mnist-model")["metadata"]["labels"][
        "app.kubernetes.io/managed-by"
    ]
    del get(kind, "Deployment/web-ui")["spec"]["template"]["metadata"]["labels"][
        semantics.RUN_ID_LABEL
    ]
    assert semantics.harness_labels(kind) == [
        "PersistentVolumeClaim/mnist-model: label app.kubernetes.io/managed-by=mnist-e2e is missing",
        "Deployment/web-ui pod template: label mnist-e2e/run-id is missing",
    ]


def test_run_id_must_match_in_a_run_rendering(kind):
    objects = render.for_run(kind, namespace="ns", run_id="run-1")
    assert semantics.harness_labels(objects, run_id="run-1") == []
    assert semantics.harness_labels(objects, run_id="run-2")


def test_tcp_probes_and_missing_probes(kind):
    tf = container(kind)
    tf["livenessProbe"] = {"tcpSocket": {"port": 9000}}
    del container(kind, "Deployment/web-ui")["readinessProbe"]
    problems = semantics.probes_are_real(kind)
    assert (
        "Deployment/tf-serving container tf-serving: livenessProbe is a bare TCP check"
        in (problems[0])
    )
    assert "Deployment/web-ui container web-ui: no readinessProbe" in problems


def test_probe_on_an_unknown_port_name(kind):
    container(kind)["readinessProbe"]["httpGet"]["port"] = "rest"
    (problem,) = semantics.probes_are_real(kind)
    assert "readinessProbe uses port 'rest', not a container port" in problem


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda pod, c: pod["securityContext"].update(runAsUser=0), "runAsUser is unset or 0"),
        (
            lambda pod, c: c["securityContext"].update(runAsNonRoot=False),
            "runAsNonRoot is not true",
        ),
        (
            lambda pod, c: c["securityContext"].update(allowPrivilegeEscalation=True),
            "allowPrivilegeEscalation",
        ),
        (lambda pod, c: c["securityContext"]["capabilities"].update(drop=["NET_RAW"]), "drop ALL"),
        (lambda pod, c: pod["securityContext"].pop("seccompProfile"), "seccompProfile"),
        (
            lambda pod, c: c["securityContext"].pop("readOnlyRootFilesystem"),
            "readOnlyRootFilesystem",
        ),
        (lambda pod, c: c.update(volumeMounts=c["volumeMounts"][1:]), "no writable /tmp mount"),
    ],
)
def test_security_context_rules(kind, breakage, message):
    pod = get(kind, "Deployment/tf-serving")["spec"]["template"]["spec"]
    breakage(pod, pod["containers"][0])
    problems = semantics.runs_restricted(kind)
    assert any(message in p for p in problems), problems


def test_container_level_setting_overrides_the_pod(kind):
    tf = container(kind)
    tf["securityContext"]["runAsUser"] = 0  # the container's own uid wins over the pod's
    assert any("runAsUser is unset or 0" in p for p in semantics.runs_restricted(kind))


def test_missing_requests_and_limits(kind):
    del container(kind)["resources"]["limits"]["memory"]
    assert semantics.resources_bounded(kind) == [
        "Deployment/tf-serving container tf-serving: no memory in resources.limits"
    ]


def test_dangling_references(kind):
    pod = get(kind, "Deployment/tf-serving")["spec"]["template"]["spec"]
    pod["volumes"][1]["persistentVolumeClaim"]["claimName"] = "mnist-models"
    pod["serviceAccountName"] = "tf-serving"
    pod["containers"][0]["volumeMounts"].append({"name": "cache", "mountPath": "/cache"})
    get(kind, "RoleBinding/mnist-e2e-deployer")["roleRef"]["name"] = "deployer"
    get(kind, "PersistentVolumeClaim/mnist-model")["spec"]["volumeName"] = "mnist-model-pv"
    get(kind, "PersistentVolume/mnist-model")["spec"]["claimRef"]["name"] = "model"
    problems = semantics.references_resolve(kind)
    assert any("binds to PV 'mnist-model-pv'" in p for p in problems)
    assert any("reserved for claim None/model" in p for p in problems)
    assert any("mounts volume 'cache', which the pod does not declare" in p for p in problems)
    assert any("claims PVC 'mnist-models'" in p for p in problems)
    assert any("runs as service account 'tf-serving'" in p for p in problems)
    assert any("roleRef Role/deployer is not in this rendering" in p for p in problems)


@pytest.mark.parametrize(
    "image", ["tensorflow/serving", "tensorflow/serving:latest", "localhost:5000/serving"]
)
def test_unpinned_images(kind, image):
    container(kind)["image"] = image
    (problem,) = semantics.images_pinned(kind)
    assert f"image {image!r} is not pinned" in problem


def test_registry_port_is_not_a_tag(kind):
    container(kind)["image"] = "localhost:5000/serving:2.20.0"
    assert semantics.images_pinned(kind) == []
