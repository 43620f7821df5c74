"""kind: create-or-adopt, the pinned cluster config, kindnet's CPU limit, the node for the
model volume — on real kubernetes objects and the real ci/kind files."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes.client import (
    V1Container,
    V1DaemonSet,
    V1DaemonSetSpec,
    V1LabelSelector,
    V1Node,
    V1NodeCondition,
    V1NodeSpec,
    V1NodeStatus,
    V1ObjectMeta,
    V1PodSpec,
    V1PodTemplateSpec,
    V1ResourceRequirements,
    V1Taint,
)

from fixtures.kind import kindctl
from fixtures.tools import docker_images
from source_tree import image_tag


def test_an_existing_cluster_is_adopted_and_a_missing_one_created() -> None:
    adopt = kindctl.decide_cluster("mnist-e2e", ["other", "mnist-e2e"])
    assert (adopt.action, adopt.context) == ("adopt", "kind-mnist-e2e")
    assert "will not be deleted" in adopt.why
    create = kindctl.decide_cluster("mnist-e2e", ["other"])
    assert create.action == "create" and "other" in create.why


def test_parse_clusters_ignores_kinds_notice() -> None:
    assert kindctl.parse_clusters("No kind clusters found.\n") == []
    assert kindctl.parse_clusters("kind\nmnist-e2e\n") == ["kind", "mnist-e2e"]


def test_cluster_config_pins_the_node_image_by_digest_for_the_pinned_kind() -> None:
    image = kindctl.node_image()
    assert image.startswith("kindest/node:v1.") and "@sha256:" in image
    assert kindctl.pinned_kind_version().startswith("v0.")
    argv = kindctl.create_argv("mnist-e2e")
    assert argv[:3] == ["kind", "create", "cluster"]
    assert str(kindctl.CLUSTER_CONFIG) in argv and "--wait" in argv


def test_both_cluster_configs_name_the_service_range_the_guard_refuses() -> None:
    for config in (kindctl.CLUSTER_CONFIG, kindctl.AIRGAP_CLUSTER_CONFIG):
        assert kindctl.service_subnet(config) == "10.96.0.0/16"
    rules = kindctl.guard_rules("10.96.0.0/16")
    # what pods send through the node, and what the node sends itself
    assert rules == [
        ("FORWARD", "-d 10.96.0.0/16 -j REJECT"),
        ("OUTPUT", "-d 10.96.0.0/16 -j REJECT"),
    ]
    argv = kindctl.guard_argv("n-control-plane", rules)
    assert argv[:5] == ["docker", "exec", "n-control-plane", "sh", "-ec"]
    for chain in ("FORWARD", "OUTPUT"):  # checked first, so a second run adds nothing
        assert (
            f"{{ iptables -C {chain} -d 10.96.0.0/16 -j REJECT 2>/dev/null"
            f" || iptables -I {chain} 1 -d 10.96.0.0/16 -j REJECT ; }}"
        ) in argv[5]


def test_airgap_nodes_also_refuse_everything_off_their_docker_network() -> None:
    network = kindctl.parse_node_network("172.21.0.2/16 \n")
    assert network == "172.21.0.0/16"
    rules = kindctl.guard_rules("10.96.0.0/16", network)
    assert rules[2:] == [
        ("FORWARD", "-o eth0 ! -d 172.21.0.0/16 -j REJECT"),
        ("OUTPUT", "-o eth0 ! -d 172.21.0.0/16 -j REJECT"),
    ]
    with pytest.raises(ValueError, match="one Docker network"):
        kindctl.parse_node_network("172.21.0.2/16 172.22.0.2/16")
    with pytest.raises(ValueError, match="one Docker network"):
        kindctl.parse_node_network("")


def test_a_config_without_a_service_range_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "cluster.yaml"
    config.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"networking\.serviceSubnet must be set"):
        kindctl.service_subnet(config)


def test_kind_version_mismatch_warns_only_for_another_release() -> None:
    pinned = kindctl.pinned_kind_version()
    assert kindctl.kind_version_mismatch(f"kind {pinned} go1.24.0 linux/amd64", pinned) is None
    warning = kindctl.kind_version_mismatch("kind v0.20.0 go1.20.4 linux/amd64", pinned)
    assert warning is not None and "v0.20.0" in warning and pinned in warning


def daemonset(limits: dict[str, str] | None) -> V1DaemonSet:
    container = V1Container(
        name="kindnet-cni",
        image="docker.io/kindest/kindnetd:v2025",
        resources=V1ResourceRequirements(limits=limits, requests={"cpu": "100m"}),
    )
    return V1DaemonSet(
        metadata=V1ObjectMeta(name="kindnet", namespace="kube-system"),
        spec=V1DaemonSetSpec(
            selector=V1LabelSelector(match_labels={"app": "kindnet"}),
            template=V1PodTemplateSpec(spec=V1PodSpec(containers=[container])),
        ),
    )


def test_kindnet_cpu_limit_is_removed_and_memory_limit_kept() -> None:
    patch = kindctl.kindnet_cpu_limit_patch(daemonset({"cpu": "100m", "memory": "50Mi"}))
    assert patch == [
        {"op": "remove", "path": "/spec/template/spec/containers/0/resources/limits/cpu"}
    ]
    assert kindctl.kindnet_cpu_limit_patch(daemonset({"memory": "50Mi"})) == []
    assert kindctl.kindnet_cpu_limit_patch(daemonset(None)) == []


def node(
    name: str, *, ready: bool = True, control_plane: bool = False, taint: str | None = None
) -> V1Node:
    labels = {"node-role.kubernetes.io/control-plane": ""} if control_plane else {}
    taints = [V1Taint(key="k", effect=taint)] if taint else None
    return V1Node(
        metadata=V1ObjectMeta(name=name, labels=labels),
        spec=V1NodeSpec(taints=taints),
        status=V1NodeStatus(conditions=[V1NodeCondition(type="Ready", status=str(ready))]),
    )


def test_the_model_volume_goes_on_a_ready_worker_else_the_control_plane() -> None:
    assert (
        kindctl.choose_node([node("mnist-e2e-control-plane", control_plane=True)])
        == "mnist-e2e-control-plane"
    )
    nodes = [node("cp", control_plane=True), node("w2"), node("w1", ready=False)]
    assert kindctl.choose_node(nodes) == "w2"
    with pytest.raises(RuntimeError, match=r"no Ready, schedulable node.*w1 \(NotReady"):
        kindctl.choose_node([node("w1", ready=False), node("w3", taint="NoSchedule")])


def test_node_dir_commands_make_the_directory_writable_by_the_image_user() -> None:
    argv = kindctl.node_dir_argv("n", "/var/local/mnist-e2e/ns")
    assert argv == [
        "docker", "exec", "n",
        "install", "-d", "-o", "10001", "-g", "10001", "-m", "0770", "/var/local/mnist-e2e/ns",
    ]  # fmt: skip
    assert kindctl.node_dir_argv("n", "/db", uid=999, mode="0700")[-7:] == [
        "-o", "999", "-g", "999", "-m", "0700", "/db",
    ]  # fmt: skip
    assert kindctl.remove_node_dir_argv("n", "/p")[-1] == "/p"


def test_image_tags_are_git_shas_and_dirty_trees_say_so() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert image_tag.image_ref(sha) == "mnist-e2e:0123456789ab"
    assert (
        image_tag.image_ref(sha, registry="us-docker.pkg.dev/p/r/")
        == "us-docker.pkg.dev/p/r/mnist-e2e:0123456789ab"
    )
    assert image_tag.image_ref(sha, dirty_hash="f" * 64).endswith(
        ":0123456789ab-dirty-ffffffffffff"
    )
    with pytest.raises(image_tag.ImageError, match="40 lowercase hex"):
        image_tag.image_ref("HEAD")
    assert docker_images.kind_load_argv(["mnist-e2e:x"], "c") == [
        "kind",
        "load",
        "docker-image",
        "mnist-e2e:x",
        "--name",
        "c",
    ]


def test_content_hash_follows_the_build_context_only(tmp_path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "train.py").write_text("a")
    first = image_tag.context_hash(tmp_path)
    (tmp_path / "README.md").write_text("not in the image")
    assert image_tag.context_hash(tmp_path) == first
    (tmp_path / "model" / "train.py").write_text("b")
    assert image_tag.context_hash(tmp_path) != first


def test_image_for_a_checkout_outside_git_says_to_pass_image(tmp_path) -> None:
    with pytest.raises(image_tag.ImageError, match="--image"):
        image_tag.git_sha(tmp_path)


def test_the_free_service_address_is_the_highest_no_service_holds() -> None:
    assert kindctl.free_service_address([], "10.96.0.0/16") == "10.96.255.254"
    held = ["10.96.0.1", "10.96.255.254", "10.96.255.253", "None"]  # "None": headless
    assert kindctl.free_service_address(held, "10.96.0.0/16") == "10.96.255.252"
