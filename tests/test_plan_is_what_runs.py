"""The plan is what runs: every command a cluster step executes appears, as executed, in the
plan the run prints (``plan.txt``), because both come from the same argv builders.

The command runner is faked here (no kind, docker or cluster is touched): it records each argv
and answers with the plan's own placeholders where a value exists only at run time (the node's
name, the image's tag, the temp dir), so the recorded commands must match the plan exactly.
Kubernetes API calls (not commands) are stubbed out; the cluster tier runs them for real.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from ci.airgap import docker_cli, project_image
from ci.airgap.manifest import Manifest
from fixtures.config import HarnessConfig
from fixtures.created.kube_resources import CreatedObject
from fixtures.kind import kfp_install, kindctl
from fixtures.ledger import Ledger
from fixtures.phases import PhaseClock
from fixtures.platforms import airgap, gke, kind
from fixtures.platforms.plan import format_plan
from fixtures.tools import commands
from kubekit import objects
from pipeline.deploy import render
from source_tree import image_tag

RUN = "mnist-e2e-20261125t120000z-abcd"


class Runner:
    """Stands in for ``commands.run``: records what would run, answers like the tools."""

    def __init__(self) -> None:
        self.executed: list[str] = []
        self.answers: dict[str, str] = {}  # a command, quoted -> what it prints

    def __call__(self, description: str, argv: Sequence[str], **_: object) -> str:
        self.executed.append(commands.quote(argv))
        if commands.quote(argv) in self.answers:
            return self.answers[commands.quote(argv)]
        words = list(argv)
        if words[:3] == ["docker", "image", "inspect"]:
            raise RuntimeError("No such image")  # not built yet: the step builds it
        if words[1:3] == ["get", "nodes"]:
            return kind.NODE
        if words[:2] == ["docker", "version"]:
            return "29.1.0"
        if words[1:2] == ["version"]:
            return f"kind {kindctl.pinned_kind_version()} go1.24 linux/amd64"
        return ""


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> Runner:
    fake = Runner()
    monkeypatch.setattr(commands, "run", fake)
    return fake


def subject(cls: type, tmp_path: Path, **options: object):
    config = HarnessConfig(platform=cls.name, artifacts_dir=tmp_path / "artifacts", **options)
    return cls(config, RUN, Ledger(tmp_path / "ledger.jsonl"), PhaseClock())


def not_planned(executed: list[str], plan: str) -> list[str]:
    return [command for command in executed if command not in plan]


def stub_kind_api_calls(platform: kind.KindPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stub what the kind steps do through the Kubernetes API (not commands)."""
    monkeypatch.setattr(kind, "missing_tools", lambda **_: None)
    monkeypatch.setattr(platform, "api", lambda: None)
    monkeypatch.setattr(platform, "_remove_kindnet_cpu_limit", lambda: None)  # an API patch
    monkeypatch.setattr(kfp_install, "installed_version", lambda api: None)
    monkeypatch.setattr(kfp_install, "wait_ready", lambda api: None)
    monkeypatch.setattr(image_tag, "image_for_checkout", lambda root: image_tag.TAG_PLACEHOLDER)
    monkeypatch.setattr(objects.Node, "list", classmethod(lambda cls, api: []))
    monkeypatch.setattr(kindctl, "choose_node", lambda nodes: kind.NODE)
    monkeypatch.setattr(render, "storage_objects", lambda *a, **k: [])  # API objects
    monkeypatch.setattr(CreatedObject, "apply_all", classmethod(lambda cls, *a, **k: []))
    monkeypatch.setattr(kind.tempfile, "mkdtemp", lambda prefix: kind.TEMP_DIR)


def run_command_steps(platform: kind.KindPlatform) -> None:
    """Run, in the platform's order, its steps that execute commands (the rest call the
    Kubernetes or KFP API)."""
    commanding = (
        platform._check_tools,
        platform._check_airgap_kfp,
        platform._cluster,
        platform._kfp,
        platform._image,
        platform._volume,
        platform._copy_export,
    )
    for step in platform.steps():
        if step.run in commanding:
            step.run()


def test_every_command_a_kind_run_executes_is_in_its_plan(
    runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = subject(kind.KindPlatform, tmp_path)
    plan = format_plan(platform.plan())  # printed before anything runs, as plan.txt is
    stub_kind_api_calls(platform, monkeypatch)
    run_command_steps(platform)
    assert len(runner.executed) >= 12, runner.executed  # every kind of command ran
    assert not_planned(runner.executed, plan) == [], plan


# The air-gapped build's manifest as the plan shows it before the check step reads it.
PLANNED_BUILD = Manifest(
    node_image=kind.BUILT_NODE_IMAGE,
    kind=kind.BUILT_KIND,
    kubectl=kind.BUILT_KUBECTL,
    kubernetes_version="v1.34.4",
    kind_version="v0.30.0",
    images={"python-base": "mnist-e2e/python-base:x", "kfp-api-server": kind.BUILT_KFP_IMAGES},
    kfp_manifests="<kfp_manifests>",
    kfp_version="2.17.0",
)


def airgap_subject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[kind.KindPlatform, str]:
    """A --airgap kind platform and its plan, printed before anything is stubbed; then its
    build made PLANNED_BUILD and its API calls stubbed."""
    platform = subject(kind.KindPlatform, tmp_path, airgap=True)
    plan = format_plan(platform.plan())
    stub_kind_api_calls(platform, monkeypatch)
    monkeypatch.setattr(airgap, "checked_manifest", lambda: PLANNED_BUILD)
    planned_files = [Path(f) for f in kind.BUILT_KFP_FILES]
    monkeypatch.setattr(kfp_install, "airgap_files", lambda manifests: planned_files)
    # Each node's Docker network is known once it exists: answered with the plan's placeholder.
    monkeypatch.setattr(kindctl, "parse_node_network", lambda output: kind.NODE_NETWORK)
    # The project image on the local base: ci/airgap's docker calls, found already built.
    monkeypatch.setattr(project_image, "image_for_checkout", lambda root: image_tag.TAG_PLACEHOLDER)
    monkeypatch.setattr(docker_cli, "image_exists", lambda tag: True)
    monkeypatch.setattr(docker_cli, "image_size", lambda tag: 0)
    return platform, plan


@pytest.mark.parametrize("cluster", ["created", "adopted"])
def test_every_command_an_airgap_kind_run_executes_is_in_its_plan(
    cluster: str, runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform, plan = airgap_subject(tmp_path, monkeypatch)
    if cluster == "adopted":
        node = kindctl.control_plane_node(platform.cluster)
        runner.answers = {
            commands.quote(kindctl.get_clusters_argv(kind.BUILT_KIND)): platform.cluster,
            commands.quote(kindctl.node_image_argv(node)): kind.BUILT_NODE_IMAGE,
        }
        monkeypatch.setattr(platform, "_has_context", lambda: False)
    run_command_steps(platform)
    assert platform.built is PLANNED_BUILD
    if cluster == "created":  # the node guard read each node's Docker network
        assert commands.quote(kindctl.node_network_argv(kind.NODE)) in runner.executed
    # KFP's database directory, made on the nodes before the render that mounts it is applied
    made = runner.executed.index(commands.quote(kfp_install.database_dir_argv(kind.NODE)))
    first_apply = next(i for i, c in enumerate(runner.executed) if " apply " in c)
    assert made < first_apply, runner.executed
    assert len(runner.executed) >= 8, runner.executed
    assert not_planned(runner.executed, plan) == [], plan
    # the run's parameters (an API call, not a command) are the ones the plan names
    assert f"with parameters {', '.join(platform.pipeline_parameters())}" in plan


def test_a_kfp_found_installed_keeps_its_database_as_it_is(
    runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform, _ = airgap_subject(tmp_path, monkeypatch)
    monkeypatch.setattr(kfp_install, "installed_version", lambda api: "2.17.0-x")
    platform._check_tools()
    before = len(runner.executed)
    platform._kfp()
    assert runner.executed[before:] == []  # no nodes listed, no directory made, nothing applied


def test_every_command_a_gke_image_step_executes_is_in_its_plan(
    runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = "us-docker.pkg.dev/p/r"
    platform = subject(
        gke.GkePlatform, tmp_path, kube_context="ctx", gcp_project="p", registry=registry
    )
    plan = format_plan(platform.plan())
    monkeypatch.setattr(
        image_tag,
        "image_for_checkout",
        lambda root, registry: f"{registry}/{image_tag.TAG_PLACEHOLDER}",
    )
    platform._image()
    assert [c.split()[:2] for c in runner.executed] == [["docker", "build"], ["docker", "push"]]
    assert not_planned(runner.executed, plan) == [], plan


def test_a_command_the_plan_does_not_show_is_found(tmp_path: Path) -> None:
    plan = format_plan(subject(kind.KindPlatform, tmp_path).plan())
    assert not_planned(["kind get clusters", "kind delete cluster --name mnist-e2e"], plan) == [
        "kind delete cluster --name mnist-e2e"
    ]
