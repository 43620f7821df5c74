"""A run's provision steps on the real cluster: the image on the node, the namespace, the
model volume (PVs and PVCs that bind, a node directory the image's user owns) and RBAC,
every object labelled with the run."""

from __future__ import annotations

from kubernetes import client as k8s

from cluster_tests.conftest import docker
from fixtures.platforms.kind import KindPlatform
from kubekit.constants import PIPELINE_NAMESPACE, run_labels
from kubekit.wait import until


def test_kind_load_put_the_project_image_on_the_node(run: KindPlatform, node: str) -> None:
    assert run.image is not None
    listed = docker("exec", node, "crictl", "images", "-o", "json")
    assert f"docker.io/library/{run.image}" in listed or run.image in listed, (
        f"{run.image} is not among the node's images: {listed[:500]}"
    )


def test_the_run_namespace_and_its_objects_carry_the_run_labels(run: KindPlatform) -> None:
    wanted = run_labels(run.run_id)
    core, rbac = k8s.CoreV1Api(run.api()), k8s.RbacAuthorizationV1Api(run.api())
    labelled = {
        "namespace": core.read_namespace(run.namespace).metadata.labels,
        "role": rbac.read_namespaced_role("mnist-e2e-deployer", run.namespace).metadata.labels,
        "rolebinding": rbac.read_namespaced_role_binding(
            "mnist-e2e-deployer", run.namespace
        ).metadata.labels,
    }
    for claim_namespace in (run.namespace, PIPELINE_NAMESPACE):
        claim = core.read_namespaced_persistent_volume_claim(run.pvc_name, claim_namespace)
        labelled[f"pvc {claim_namespace}"] = claim.metadata.labels
        labelled[f"pv of {claim_namespace}"] = core.read_persistent_volume(
            claim.spec.volume_name
        ).metadata.labels
    missing = {
        what: {k: v for k, v in wanted.items() if (labels or {}).get(k) != v}
        for what, labels in labelled.items()
    }
    assert not any(missing.values()), f"objects missing run labels: {missing}"


def test_both_model_claims_bind_to_their_volumes(run: KindPlatform) -> None:
    core = k8s.CoreV1Api(run.api())

    def phases() -> dict[str, str]:
        return {
            ns: core.read_namespaced_persistent_volume_claim(run.pvc_name, ns).status.phase
            for ns in (run.namespace, PIPELINE_NAMESPACE)
        }

    until("both model PVCs Bound", lambda: set(phases().values()) == {"Bound"}, timeout=60)
    volumes = {
        core.read_namespaced_persistent_volume_claim(run.pvc_name, ns).spec.volume_name
        for ns in (run.namespace, PIPELINE_NAMESPACE)
    }
    assert len(volumes) == 2, f"each claim has its own PV: {volumes}"
    paths = {core.read_persistent_volume(v).spec.host_path.path for v in volumes}
    assert paths == {run.node_dir}, f"both PVs are over the run's node directory: {paths}"


def test_the_node_directory_belongs_to_the_images_user(run: KindPlatform, node: str) -> None:
    owner, mode = docker("exec", node, "stat", "-c", "%u:%g %a", run.node_dir).split()
    # the kubelet may add the setgid bit when a pod with fsGroup mounts it: the rest is ours
    assert (owner, int(mode, 8) & 0o777) == ("10001:10001", 0o770), (
        f"{run.node_dir}: {owner} {mode}"
    )
