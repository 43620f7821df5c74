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

from fixtures.config import HarnessConfig
from fixtures.created.kube_resources import CreatedObject
from fixtures.kind import kfp_install, kindctl
from fixtures.ledger import Ledger
from fixtures.phases import PhaseClock
from fixtures.platforms import gke, kind
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

    def __call__(self, description: str, argv: Sequence[str], **_: object) -> str:
        self.executed.append(commands.quote(argv))
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


def test_every_command_a_kind_run_executes_is_in_its_plan(
    runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = subject(kind.KindPlatform, tmp_path)
    plan = format_plan(platform.plan())  # printed before anything runs, as plan.txt is
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
    for step in (
        platform._check_tools,
        platform._cluster,
        platform._kfp,
        platform._image,
        platform._volume,
        platform._copy_export,
    ):
        step()
    assert len(runner.executed) >= 12, runner.executed  # every kind of command ran
    assert not_planned(runner.executed, plan) == [], plan


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
