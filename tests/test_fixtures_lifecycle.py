"""The run's one lifecycle owner: keep or tear down decided once, teardown from the ledger
through the kinds, the summary written, and all of it only once per run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.config import HarnessConfig
from fixtures.created.local_resources import TempDir
from fixtures.ledger import Ledger
from fixtures.lifecycle import RunLifecycle, tear_down
from fixtures.platforms import kind

RUN = "mnist-e2e-20261201t120000z-abcd"


def lifecycle(tmp_path: Path, **options: object) -> tuple[RunLifecycle, Path]:
    config = HarnessConfig(artifacts_dir=tmp_path / "artifacts", **options)  # type: ignore[arg-type]
    run = RunLifecycle(config, RUN)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    TempDir.record(Ledger(run.paths.ledger), str(scratch), path=str(scratch))
    return run, scratch


@pytest.mark.parametrize(
    ("options", "failed", "kept"),
    [
        ({}, False, False),
        ({}, True, False),
        ({"keep": True}, False, True),
        ({"keep_on_failure": True}, False, False),
        ({"keep_on_failure": True}, True, True),
    ],
)
def test_keep_is_decided_in_one_place(options: dict, failed: bool, kept: bool) -> None:
    assert HarnessConfig(**options).keeps(failed=failed) is kept


def test_finish_tears_down_from_the_ledger_and_writes_the_summary(tmp_path: Path) -> None:
    run, scratch = lifecycle(tmp_path)
    run.count(nodeid="e2e/test_a.py::test_ok", when="call", outcome="passed")
    run.count(nodeid="e2e/test_a.py::test_skip", when="setup", outcome="skipped")
    finished = run.finish(failed=False)
    assert finished is not None and not finished.kept
    assert finished.teardown == [f"tempdir {scratch}: removed"]
    assert finished.leftovers == [] and not scratch.exists()
    summary = json.loads((run.paths.root / "summary.json").read_text())
    assert (summary["passed"], summary["skipped"], summary["kept"]) == (1, 1, False)
    assert summary["teardown"] == finished.teardown
    assert (run.paths.root / "report.html").exists()
    lines = [line for line, _markup in run.summary_lines()]
    assert "teardown: left nothing behind" in lines


def test_a_kept_run_says_how_to_tear_it_down_and_deletes_nothing(tmp_path: Path) -> None:
    run, scratch = lifecycle(tmp_path, keep_on_failure=True)
    run.count(nodeid="e2e/test_a.py::test_bad", when="call", outcome="failed", message="boom")
    finished = run.finish(failed=True)
    assert finished is not None and finished.kept and scratch.exists()
    assert finished.teardown == [
        f"kept (--keep-on-failure): tear down later with: tox -e teardown -- {run.paths.ledger}"
    ]
    assert json.loads((run.paths.root / "summary.json").read_text())["failures"][0]["message"] == (
        "boom"
    )
    later = tear_down(Ledger(run.paths.ledger))
    assert later.lines == [f"tempdir {scratch}: removed"] and later.leftovers == []


def test_finish_happens_once_and_not_at_all_without_a_run(tmp_path: Path) -> None:
    run, _ = lifecycle(tmp_path)
    first = run.finish(failed=False)
    assert run.finish(failed=True) is first  # the atexit layer after session finish
    nothing = RunLifecycle(HarnessConfig(artifacts_dir=tmp_path / "none"), RUN)
    assert nothing.finish(failed=False) is None
    assert not (tmp_path / "none").exists()


def test_a_cluster_runs_plan_is_its_own_options_and_run_id_and_touches_nothing(
    tmp_path: Path,
) -> None:
    run = RunLifecycle(
        HarnessConfig(platform="kind", airgap=True, artifacts_dir=tmp_path / "artifacts"), RUN
    )
    plan = run.plan_text()
    assert plan is not None
    assert plan.splitlines()[0] == (
        f"mnist-e2e plan of run {RUN} (--platform kind): the steps it executes, in order"
    )
    assert "Kubeflow Pipelines in the air-gapped build" in plan  # --airgap's own check
    assert f"cluster-airgap.yaml --image '{kind.BUILT_NODE_IMAGE}'" in plan  # quoted: <…>
    assert f"create Namespace {RUN}" in plan
    assert not (tmp_path / "artifacts").exists()
    assert not (tmp_path / "artifacts").exists()


def test_a_local_runs_plan_is_its_steps_in_order_and_touches_nothing(tmp_path: Path) -> None:
    """Local is steps like kind and gke: its plan names each start and the wait after it."""
    local = RunLifecycle(HarnessConfig(artifacts_dir=tmp_path / "artifacts"), RUN)
    plan = local.plan_text()
    titles = [
        line.split(". ", 1)[1]
        for line in plan.splitlines()
        if line[:3].strip().rstrip(".").isdigit()
    ]
    assert titles == [
        "the run's work dir",
        "GCS emulator and the run's bucket",
        "start the train component",
        "start the model server",
        "start the web UI",
        "wait for the train step",
        "wait for the model server",
        "wait for the web UI",
        "diagnostics on failure",
        "teardown from the ledger",
    ]
    assert "gRPC Predict of one image until the trained version answers" in plan
    assert not (tmp_path / "artifacts").exists()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"platform": "local"}, ["serving/ stands in for TF Serving", "gcp-storage-emulator"]),
        ({"platform": "local", "local_storage": "pvc"}, ["TF Serving", "temp dir"]),
        ({"platform": "kind", "airgap": True}, ["TF Serving", "metadata_server/"]),
        (
            {"platform": "gke", "gcs_endpoint": "http://127.0.0.1:9023"},
            ["TF Serving", "metadata_server/", "--gcs-endpoint"],
        ),
    ],
)
def test_every_report_of_a_run_names_its_stand_ins(
    tmp_path: Path, options: dict, named: list[str]
) -> None:
    run, _ = lifecycle(tmp_path, **options)
    run.finish(failed=False)
    summary = json.loads((run.paths.root / "summary.json").read_text())
    terminal = [line for line, _markup in run.summary_lines() if line.startswith("stand-in: ")]
    page = (run.paths.root / "report.html").read_text()
    assert len(summary["stand_ins"]) == len(terminal) == len(named)
    for words, part, line in zip(named, summary["stand_ins"], terminal, strict=True):
        assert words in part and line == f"stand-in: {part}"
        assert part.replace("'", "&#x27;") in page


def test_a_run_on_real_parts_names_no_stand_in(tmp_path: Path) -> None:
    run, _ = lifecycle(tmp_path, platform="kind")
    run.finish(failed=False)
    assert json.loads((run.paths.root / "summary.json").read_text())["stand_ins"] == []
    assert not any(line.startswith("stand-in: ") for line, _ in run.summary_lines())
