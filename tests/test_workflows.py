"""The CI workflows: valid against GitHub's workflow schema (offline, check-jsonschema's
vendored copy), triggered by the right paths and schedule, uploading artifacts always."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
PR_GATE = WORKFLOWS / "pr-gate.yml"
NIGHTLY = WORKFLOWS / "nightly-gke.yml"
# What the PR gate must watch (the list): the image's and the pipeline's inputs.
GATED_PATHS = (
    "manifests/**",
    "pipeline/**",
    "model/**",
    "web_ui/**",
    "metadata_server/**",
    "Dockerfile*",
    "ci/**",
)


def load(path: Path) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True; GitHub reads it as "on".
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return workflow["jobs"][job]["steps"]


def test_workflows_are_valid_against_the_github_schema() -> None:
    checker = shutil.which("check-jsonschema") or str(
        Path(sys.executable).parent / "check-jsonschema"
    )
    if not Path(checker).exists():
        pytest.skip("check-jsonschema is not installed (it is in requirements/lock.txt)")
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert files, "no workflow files"
    done = subprocess.run(
        [checker, "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    checker = shutil.which("check-jsonschema") or str(
        Path(sys.executable).parent / "check-jsonschema"
    )
    if not Path(checker).exists():
        pytest.skip("check-jsonschema is not installed (it is in requirements/lock.txt)")
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    steps: []\n")  # no runs-on
    done = subprocess.run(
        [checker, "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0


def test_pr_gate_triggers_on_the_harness_inputs() -> None:
    triggers = load(PR_GATE)["on"]
    paths = triggers["pull_request"]["paths"]
    for required in GATED_PATHS:
        assert required in paths, f"pr-gate.yml does not trigger on {required}"
    assert "workflow_dispatch" in triggers


def test_pr_gate_runs_offline_checks_then_kind() -> None:
    workflow = load(PR_GATE)
    offline = " ".join(s.get("run", "") for s in steps(workflow, "offline"))
    assert "tox -e lint,unit" in offline
    assert "tox -e metadata-server" in offline
    assert workflow["jobs"]["kind"]["needs"] == "offline"
    kind_script = (ROOT / "ci" / "workflows" / "kind-e2e.sh").read_text()
    assert any(s.get("run") == "ci/workflows/kind-e2e.sh" for s in steps(workflow, "kind"))
    assert "ci/scripts/install-kind.sh" in kind_script and "tox -e kind" in kind_script
    install = (ROOT / "ci" / "scripts" / "install-kind.sh").read_text()
    assert "ci/kind/kind-version" in install and "sha256sum --check" in install


def test_nightly_runs_on_a_schedule_with_workload_identity_and_the_janitor_first() -> None:
    workflow = load(NIGHTLY)
    assert workflow["on"]["schedule"][0]["cron"].count(" ") == 4
    assert workflow["permissions"]["id-token"] == "write"
    auth = next(
        s
        for s in steps(workflow, "gke")
        if str(s.get("uses", "")).startswith("google-github-actions/auth@")
    )
    assert set(auth["with"]) == {"workload_identity_provider", "service_account"}
    assert "credentials_json" not in NIGHTLY.read_text()  # no long-lived key
    script = (ROOT / "ci" / "workflows" / "nightly-gke.sh").read_text()
    assert script.index("tox -e janitor") < script.index("tox -e gke")
    assert "junit_ran.py" in script


@pytest.mark.parametrize("path", [PR_GATE, NIGHTLY])
def test_superseded_runs_are_cancelled(path: Path) -> None:
    assert load(path)["concurrency"]["cancel-in-progress"] is True


@pytest.mark.parametrize("path", [PR_GATE, NIGHTLY])
def test_junit_and_artifacts_are_uploaded_always(path: Path) -> None:
    workflow = load(path)
    for job in workflow["jobs"]:
        uploads = [
            s
            for s in steps(workflow, job)
            if str(s.get("uses", "")).startswith("actions/upload-artifact@")
        ]
        assert uploads, f"{path.name} job {job} uploads nothing"
        for upload in uploads:
            assert upload["if"] == "always()"
            assert upload["with"]["path"] == "artifacts/"


@pytest.mark.parametrize(("path", "job"), [(PR_GATE, "kind"), (NIGHTLY, "gke")])
def test_the_run_history_is_kept_between_runs_failed_ones_included(path: Path, job: str) -> None:
    names = [str(s.get("uses", s.get("run", ""))) for s in steps(load(path), job)]
    restore = names.index("actions/cache/restore@v4")
    save = names.index("actions/cache/save@v4")
    e2e = next(i for i, name in enumerate(names) if name.startswith("ci/workflows/"))
    assert restore < e2e < save
    for index in (restore, save):
        cache = steps(load(path), job)[index]
        assert cache["with"]["path"] == "artifacts/history.sqlite"  # the default --history
    assert steps(load(path), job)[save]["if"] == "always()"
    # Cache keys are immutable: each run saves under its own, the next restores the newest.
    assert steps(load(path), job)[restore]["with"]["restore-keys"] == f"mnist-e2e-history-{job}-"


@pytest.mark.parametrize("script", sorted((ROOT / "ci").glob("*/*.sh")), ids=lambda p: p.name)
def test_shell_scripts_parse_and_stop_on_errors(script: Path) -> None:
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "set -euo pipefail" in script.read_text()


def test_junit_ran_fails_a_report_where_everything_skipped(tmp_path: Path) -> None:
    skipped = tmp_path / "skipped.xml"
    skipped.write_text('<testsuites><testsuite name="pytest" tests="3" skipped="3"/></testsuites>')
    ran = tmp_path / "ran.xml"
    ran.write_text('<testsuites><testsuite name="pytest" tests="3" skipped="1"/></testsuites>')
    script = str(ROOT / "ci" / "scripts" / "junit_ran.py")

    def run(report: Path) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, script, str(report)], capture_output=True, check=False
        )

    assert run(skipped).returncode == 1
    assert run(ran).returncode == 0
    assert run(tmp_path / "missing.xml").returncode == 1


def test_junit_ran_none_skipped_fails_a_single_skip(tmp_path: Path) -> None:
    script = str(ROOT / "ci" / "scripts" / "junit_ran.py")
    report = tmp_path / "one-skipped.xml"
    report.write_text('<testsuites><testsuite name="pytest" tests="27" skipped="1"/></testsuites>')
    full = tmp_path / "full.xml"
    full.write_text('<testsuites><testsuite name="pytest" tests="27" skipped="0"/></testsuites>')

    def run(path: Path) -> int:
        argv = [sys.executable, script, "--none-skipped", str(path)]
        return subprocess.run(argv, capture_output=True, check=False).returncode

    assert run(report) == 1
    assert run(full) == 0


def test_the_nightly_rehearses_first_and_runs_on_gke_only_when_that_passed() -> None:
    workflow = load(NIGHTLY)
    assert workflow["jobs"]["gke"]["needs"] == "rehearsal"
    runs = " ".join(str(s.get("run", "")) for s in steps(workflow, "rehearsal"))
    assert "ci/workflows/gke-rehearsal.sh" in runs
    assert not any(
        str(s.get("uses", "")).startswith("google-github-actions/")
        for s in steps(workflow, "rehearsal")
    )  # no cloud credentials in the rehearsal
    script = (ROOT / "ci" / "workflows" / "gke-rehearsal.sh").read_text()
    assert script.index("tox -e airgap") < script.index("tox -e gke-rehearsal")
    assert "--none-skipped artifacts/junit-gke-rehearsal.xml" in script
