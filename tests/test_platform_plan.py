"""The dry run prints the very steps a run executes, and touches nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixtures.__main__ import main
from fixtures.config import HarnessConfig
from fixtures.ledger import Ledger
from fixtures.phases import PhaseClock
from fixtures.platforms.cluster_base import ClusterRunFailed
from fixtures.platforms.gke import GkePlatform
from fixtures.platforms.kind import KindPlatform
from fixtures.platforms.local import LocalPlatform
from fixtures.platforms.plan import Step, format_plan

RUN = "mnist-e2e-20261125t120000z-abcd"


def platform(cls: type, tmp_path: Path, **options: object):
    config = HarnessConfig(platform=cls.name, artifacts_dir=tmp_path / "artifacts", **options)
    return cls(config, RUN, Ledger(tmp_path / "ledger.jsonl"), PhaseClock())


def test_format_plan_numbers_steps_and_groups_them_by_phase() -> None:
    text = format_plan(
        [Step("check", "a", ("x",)), Step("provision", "b"), Step("provision", "c", ("y", "z"))],
        "header",
    )
    assert text.splitlines() == [
        "header",
        "",
        "[check]",
        " 1. a",
        "      x",
        "",
        "[provision]",
        " 2. b",
        " 3. c",
        "      y",
        "      z",
    ]


@pytest.mark.parametrize("cls", [KindPlatform, GkePlatform, LocalPlatform])
def test_every_printed_step_is_an_executed_step(cls: type, tmp_path: Path) -> None:
    subject = platform(cls, tmp_path, kube_context="ctx", gcp_project="p", registry="r.example/x")
    steps = subject.steps()
    planned = subject.plan()
    assert planned[: len(steps)] == steps  # the plan starts with the executed steps, in order
    assert {s.phase for s in planned[len(steps) :]} == {"teardown"}
    assert [s.phase for s in steps] == sorted(
        (s.phase for s in steps), key=["check", "provision", "pipeline"].index
    )
    assert all(step.run is not None and step.does for step in steps)


def test_kind_plan_cli_prints_every_step_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no tool can run: planning needs none
    assert main(["plan", "--platform", "kind", "--artifacts-dir", str(tmp_path / "a")]) == 0
    # Each run gets a new run id; compare the steps with it masked.
    out = re.sub(r"mnist-e2e-\d{8}t\d{6}z-[0-9a-f]{4}", "<run>", capsys.readouterr().out)
    titles = [s.title.replace(RUN, "<run>") for s in platform(KindPlatform, tmp_path).steps()]
    positions = [out.index(f". {title}") for title in titles]
    assert positions == sorted(positions)
    for expected in (
        "kind create cluster --name mnist-e2e --config",
        "kindnet",
        "iptables -I FORWARD 1 -d 10.96.0.0/16 -j REJECT",
        "cluster-scoped-resources?ref=2.17.0",
        "kind load docker-image",
        "install -d -o 10001 -g 10001 -m 0770",
        "python -m pipeline.compile --platform onprem",
        "svc/tf-serving:9000",
        "order: kfp-run → kfp-experiment",
    ):
        assert expected in out
    assert "NOTE" not in out
    assert not (tmp_path / "a").exists()


def test_gke_plan_says_which_options_a_real_run_needs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--platform", "gke"]) == 0
    out = capsys.readouterr().out
    assert "uniform bucket-level access; public access prevention enforced" in out
    assert "NOTE: a real run would stop before step 1: --platform gke needs --kube-context" in out
    # The bucket's real shape (<run-id>-<project>), and what the default --if-unavailable does.
    assert re.search(r"bucket gs://mnist-e2e-\S+-<--gcp-project>\n", out), out
    assert "else skip" not in out
    assert "Application Default Credentials, else fail (--if-unavailable fail)" in out


def test_plan_of_local_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["plan", "--platform", "local"])
    assert caught.value.code == 2
    assert "--platform 'local' is not one of kind, gke" in capsys.readouterr().err


def test_plan_without_a_platform_asks_for_one_and_helps_with_the_flags_own_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MNIST_E2E_PLATFORM", raising=False)
    with pytest.raises(SystemExit):
        main(["plan"])
    err = capsys.readouterr().err
    assert "--platform is required: one of kind, gke (or set MNIST_E2E_PLATFORM)" in err
    assert "--platform PLATFORM" in err and "--wait-timeout WAIT_TIMEOUT" in err
    assert "MNIST_PLATFORM" not in err and "MNIST_WAIT_TIMEOUT" not in err


def test_a_failing_step_names_itself_and_where_to_look(tmp_path: Path) -> None:
    subject = platform(KindPlatform, tmp_path)
    done: list[str] = []

    def fail() -> None:
        raise RuntimeError("HTTP 403: forbidden")

    steps = [
        Step("provision", "first", ("a",), lambda: done.append("first")),
        Step("provision", "second", ("b",), fail),
        Step("provision", "third", ("c",), lambda: done.append("third")),
    ]
    subject.steps = lambda: steps  # the executor runs what steps() lists, in order
    with pytest.raises(ClusterRunFailed) as caught:
        subject.provision()
    assert done == ["first"]
    message = str(caught.value)
    assert "provision step 'second' failed: HTTP 403: forbidden" in message
    assert f"{tmp_path / 'artifacts' / RUN}/ (diagnostics/failure.txt" in message
    assert subject.clock.phases[0].ok is False
    progress = (tmp_path / "artifacts" / RUN / "steps.log").read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in progress] == [
        "provision 1/3: first",
        "provision 2/3: second",
        "provision 2/3: FAILED: HTTP 403: forbidden",
    ]


def test_an_airgap_build_without_kfp_stops_at_the_check_before_any_cluster(
    tmp_path: Path,
) -> None:
    from ci.airgap.manifest import Manifest
    from fixtures.platforms.base import PlatformUnavailable

    subject = platform(KindPlatform, tmp_path, airgap=True)
    titles = [s.title for s in subject.steps()]
    check = titles.index("Kubeflow Pipelines in the air-gapped build")
    assert check < next(i for i, t in enumerate(titles) if t.startswith("kind cluster"))
    subject.built = Manifest(
        node_image="mnist-e2e/kind-node:v1-abc",
        kind="kind",
        kubectl="kubectl",
        kubernetes_version="v1.34.4",
        kind_version="v0.30.0",
        kfp_blocked=["github.com/kubeflow/pipelines: no module version for 2.17.0"],
    )
    with pytest.raises(PlatformUnavailable) as refused:
        subject.steps()[check].run()
    assert str(refused.value) == (
        "--airgap: the air-gapped build has no Kubeflow Pipelines (github.com/kubeflow/"
        "pipelines: no module version for 2.17.0): a kind run needs it; nothing was created"
    )
    assert list(subject.ledger) == []


@pytest.mark.slow
def test_an_e2e_session_starts_with_its_own_plan(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "e2e", "--collect-only", "-p", "no:cacheprovider",
            "--platform", "kind", "--airgap", "--artifacts-dir", str(tmp_path / "artifacts"),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    header = done.stdout.split("collected", 1)[0]
    run_id = re.search(r"mnist-e2e plan of run (\S+) \(--platform kind\)", header)
    assert run_id, header
    assert "Kubeflow Pipelines in the air-gapped build" in header
    assert f"create Namespace {run_id.group(1)}" in header
