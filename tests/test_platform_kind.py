"""The kind platform: it skips with a clear reason where it cannot run, and its choices
(context, names, parameters, the model volume) are right before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.config import HarnessConfig, OptionError
from fixtures.ledger import Ledger
from fixtures.phases import PhaseClock
from fixtures.platforms import checked, get_platform
from fixtures.platforms.base import PlatformUnavailable
from fixtures.platforms.kind import KindPlatform, docker_problem, missing_tools

RUN = "mnist-e2e-20261125t120000z-abcd"


def kind(tmp_path: Path, **options: object) -> KindPlatform:
    config = HarnessConfig(platform="kind", artifacts_dir=tmp_path, **options)
    return KindPlatform(config, RUN, Ledger(tmp_path / "ledger.jsonl"), PhaseClock())


def test_registry_finds_the_kind_platform() -> None:
    assert get_platform("kind") is KindPlatform


def test_missing_tools_are_named_with_where_to_get_them() -> None:
    problem = missing_tools(lambda tool: None if tool in ("kind", "git") else f"/usr/bin/{tool}")
    assert problem is not None
    assert "needs kind, git on PATH" in problem and "kind.sigs.k8s.io" in problem
    assert missing_tools(lambda tool: f"/usr/bin/{tool}") is None


def test_docker_without_a_daemon_is_a_reason_to_skip() -> None:
    assert "start Docker" in (docker_problem(None, "Cannot connect to the Docker daemon") or "")
    assert docker_problem("28.2.2", None) is None


def test_prerequisites_skip_without_kind_and_create_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    subject = kind(tmp_path)
    with pytest.raises(PlatformUnavailable, match="--platform kind needs kind"):
        subject.check_prerequisites()
    assert subject.ledger.resources() == []


def test_context_names_and_parameters(tmp_path: Path) -> None:
    subject = kind(tmp_path, kind_cluster="dev", train_steps=50, model_type="linear")
    assert subject.context == "kind-dev"
    assert kind(tmp_path, kube_context="mine").context == "mine"
    assert subject.namespace == RUN
    assert subject.node_dir == f"/var/local/mnist-e2e/{RUN}"
    subject.image = "mnist-e2e:0123456789ab"
    parameters = subject.pipeline_parameters()
    assert parameters["namespace"] == RUN and parameters["run_id"] == RUN
    assert parameters["pvc_name"] == f"model-{RUN}"  # per run: never shared in kubeflow
    assert parameters["model_export_dir"].startswith("/mnt/")
    assert (parameters["train_steps"], parameters["model_type"]) == (50, "linear")
    assert parameters["image"] == "mnist-e2e:0123456789ab"


def test_the_model_volume_the_platform_applies_is_per_run_and_on_the_node(tmp_path: Path) -> None:
    from pipeline.deploy import render

    subject = kind(tmp_path)
    objects = render.storage_objects(
        "kind", namespace=RUN, run_id=RUN, pvc_name=subject.pvc_name, node_name="n1"
    )
    claims = {
        (o["metadata"]["namespace"], o["metadata"]["name"])
        for o in objects
        if o["kind"] == "PersistentVolumeClaim"
    }
    assert claims == {("kubeflow", subject.pvc_name), (RUN, subject.pvc_name)}
    paths = {o["spec"]["hostPath"]["path"] for o in objects if o["kind"] == "PersistentVolume"}
    assert paths == {subject.node_dir}


def test_bad_cluster_name_is_an_option_error() -> None:
    with pytest.raises(OptionError, match="--kind-cluster 'Bad_Name'"):
        checked(HarnessConfig(platform="kind", kind_cluster="Bad_Name"))


def test_e2e_tests_skip_with_the_reason_when_kind_is_missing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(pytester.path / "no-tools"))
    pytester.makepyfile(
        test_story="""
        def test_a_user_story(mnist_run):
            assert mnist_run.endpoints
        """
    )
    result = pytester.runpytest_inprocess(
        "-p",
        "fixtures.plugin",
        "-p",
        "fixtures.e2e_fixtures",
        "--platform",
        "kind",
        "-rs",
        "--if-unavailable",
        "skip",
    )
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*platform kind unavailable: --platform kind needs kind*"])


def test_a_kept_run_is_torn_down_later_from_its_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m fixtures teardown artifacts/<run-id>/ledger.jsonl`` on a kind run's ledger."""
    from fixtures.__main__ import main
    from fixtures.ledger import Resource

    run_dir = tmp_path / RUN
    export_copy = tmp_path / "export-copy"
    (export_copy / "export" / "1").mkdir(parents=True)
    ledger = Ledger(run_dir / "ledger.jsonl")
    ledger.record(Resource("kind-cluster", "dev", {"created": False, "context": "kind-dev"}))
    ledger.record(Resource("tempdir", str(export_copy), {"path": str(export_copy)}))
    assert main(["teardown", str(ledger.path)]) == 0
    out = capsys.readouterr().out
    assert f"teardown: tempdir {export_copy}: removed" in out
    assert "teardown: kind-cluster dev: skipped, adopted, not created by this run" in out
    assert not export_copy.exists()


@pytest.mark.parametrize("keep_cluster", [False, True])
def test_keep_cluster_marks_the_created_cluster_and_kinds_network_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep_cluster: bool
) -> None:
    from fixtures.kind import kindctl
    from fixtures.tools import commands

    platform = kind(tmp_path, keep_cluster=keep_cluster)
    ran: list[list[str]] = []
    monkeypatch.setattr(kindctl, "existing_clusters", lambda kind="kind": [])
    monkeypatch.setattr(commands, "run", lambda what, argv, **kw: ran.append(argv) or "bridge")
    monkeypatch.setattr(KindPlatform, "_guard_node_network", lambda self: None)
    monkeypatch.setattr(KindPlatform, "_remove_kindnet_cpu_limit", lambda self: None)
    platform._cluster()
    cluster, network = platform.ledger.resources()
    assert (cluster.kind, network.kind) == ("kind-cluster", "docker-network")
    assert cluster.details.get("keep", False) is keep_cluster
    assert network.details.get("keep", False) is keep_cluster
    assert any(argv[1:3] == ["create", "cluster"] for argv in ran)
