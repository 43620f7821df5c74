"""A local run leaves nothing behind when a step fails, when CI cancels it with SIGTERM, and
when a terminal running ``tox -e local`` gets Ctrl-C."""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

from fixtures.created.teardown_plan import leftovers
from fixtures.ledger import Ledger
from kubekit.wait import until

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def _pytest_e2e(artifacts: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "e2e",
            "-p",
            "no:cacheprovider",
            "-q",
            "--artifacts-dir",
            str(artifacts),
            *args,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _only_run(artifacts: Path) -> Path:
    runs = [p for p in artifacts.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def _scratch_dirs() -> set[Path]:
    """Temp dirs the train step's programs make, where they would land without the harness."""
    tmp = Path(tempfile.gettempdir())
    return {*tmp.glob("mnist-train-*"), *tmp.glob("mnist-kfp-local-*"), *tmp.glob("tmp.*")}


def _until_training(artifacts: Path, run: subprocess.Popen) -> Ledger:
    """The run's ledger, once every local process is up and the train step really trains."""
    until(
        "the run creates its artifacts dir",
        lambda: artifacts.exists() and any(p.is_dir() for p in artifacts.iterdir()),
        timeout=300,  # a tox env that must be installed first takes a while
    )
    ledger = Ledger(_only_run(artifacts) / "ledger.jsonl")
    until(
        f"a web-ui process recorded in {ledger.path}",
        lambda: any(r.kind == "process" and r.name == "web-ui" for r in ledger),
        timeout=120,
    )
    # The signal must land while the train component is really training, its temp dirs made.
    train_log = ledger.path.parent / "logs" / "train.log"
    until(
        f"'data: ' in {train_log}",
        lambda: train_log.exists() and "data: " in train_log.read_text(errors="replace"),
        timeout=120,
    )
    assert run.poll() is None, "the run ended before it was interrupted"
    return ledger


def _assert_nothing_left(ledger: Ledger, output: str, scratch_before: set[Path]) -> dict:
    """Every process, port and temp dir of the run is gone; its summary.json, which it returns."""
    resources = ledger.resources()
    assert {r.name for r in resources if r.kind == "process"} >= {
        "gcs-emulator",
        "train",
        "model-server",
        "web-ui",
    }
    assert leftovers(resources) == [], output  # processes, their ports, temp dirs, the bucket
    assert "left nothing behind" in output, output
    # The children's own temp dirs (kfp.local's, the trainer's) went with the run's workdir.
    assert _scratch_dirs() <= scratch_before
    run_dir = str(ledger.path.parent)
    survivors = [
        p.info
        for p in psutil.process_iter(["pid", "cmdline"])
        if run_dir in " ".join(p.info["cmdline"] or [])
    ]
    assert survivors == [], survivors
    summary = json.loads((ledger.path.parent / "summary.json").read_text())
    assert summary["leftovers"] == []
    assert summary["interrupted"] is True, summary
    assert summary["result"] == "interrupted", summary
    page = (ledger.path.parent / "report.html").read_text()
    assert "INTERRUPTED" in page
    return summary


def test_sigterm_mid_training_tears_everything_down(tmp_path):
    artifacts = tmp_path / "artifacts"
    scratch_before = _scratch_dirs()
    # Long enough that SIGTERM surely lands while training.
    run = _pytest_e2e(artifacts, "--train-steps", "100000", "--model-type", "linear")
    try:
        ledger = _until_training(artifacts, run)
        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    summary = _assert_nothing_left(ledger, output, scratch_before)
    assert summary["error"] == "interrupted: received signal 15 (SIGTERM)", summary
    # The phase the signal cut says so, not FAILED.
    assert re.search(r"^train .* interrupted$", output, re.MULTILINE), output


def _tox_env() -> dict[str, str]:
    """This environment without the tox env a test may run in, for a tox of its own."""
    return {
        k: v
        for k, v in os.environ.items()
        if k != "VIRTUAL_ENV" and not k.startswith(("TOX_", "PYTEST_"))
    }


def test_ctrl_c_in_a_terminal_running_tox_local_tears_everything_down(tmp_path):
    """Ctrl-C reaches tox's whole process group; tox then signals pytest again (SIGINT, then
    SIGTERM, then SIGKILL, as tox.ini times them). Teardown must finish all the same."""
    tox = shutil.which("tox")
    if tox is None:
        pytest.skip("tox is not on PATH (this test runs `tox -e local` as a user would)")
    artifacts = tmp_path / "artifacts"
    log_path = tmp_path / "tox.log"
    scratch_before = _scratch_dirs()
    with log_path.open("w") as log:
        # A session of its own: the test's "terminal" is tox's process group.
        run = subprocess.Popen(
            [
                tox,
                "-e",
                "local",
                "--",
                "--artifacts-dir",
                str(artifacts),
                "--junitxml",
                str(tmp_path / "junit.xml"),
                "--train-steps",
                "100000",
                "--model-type",
                "linear",
                "-k",
                "health",
            ],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**_tox_env(), "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
    try:
        ledger = _until_training(artifacts, run)
        os.killpg(run.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        run.wait(timeout=300)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    output = log_path.read_text(errors="replace")
    assert "SIGKILL" not in output, output  # tox never had to kill the harness
    summary = _assert_nothing_left(ledger, output, scratch_before)
    assert summary["error"].startswith("interrupted"), summary
    assert re.search(r"^train .* interrupted$", output, re.MULTILINE), output


def test_a_failing_train_step_fails_the_run_and_still_tears_down(tmp_path):
    artifacts = tmp_path / "artifacts"
    corrupt = tmp_path / "corrupt-mnist"
    corrupt.mkdir()
    for name in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        (corrupt / name).write_bytes(b"not gzip at all")
    run = _pytest_e2e(
        artifacts,
        "--data-dir",
        str(corrupt),
        "--local-storage",
        "pvc",
        "-k",
        "test_pipeline_succeeded or test_health",
    )
    output, _ = run.communicate(timeout=300)
    assert run.returncode == 1, output
    # The cause leads the message, naming the file, ahead of the log tail.
    assert re.search(r"train exited with code 1: .*train-images-idx3-ubyte\.gz", output), output
    # Each test says so in one line; the whole cause (the step's log tail) comes once.
    errors = re.findall(r"^provisioning run \S+ failed: WaitFailed: train exited .*$", output, re.M)
    assert len(errors) == 2, output
    assert all("provision-error.txt" in line for line in errors), errors
    assert output.count("Traceback (most recent call last)") == 1, output
    run_dir = _only_run(artifacts)
    resources = Ledger(run_dir / "ledger.jsonl").resources()
    assert leftovers(resources) == [], output
    assert (run_dir / "diagnostics" / "ledger.jsonl").exists()
    assert "left nothing behind" in output


def test_a_kept_run_stays_up_and_the_teardown_cli_removes_it(tmp_path):
    artifacts = tmp_path / "artifacts"
    run = _pytest_e2e(
        artifacts, "--keep", "--local-storage", "pvc", "--model-type", "linear", "-k", "health"
    )
    output, _ = run.communicate(timeout=300)
    assert run.returncode == 0, output
    run_dir = _only_run(artifacts)
    ledger = Ledger(run_dir / "ledger.jsonl")
    kept = ledger.resources()
    assert leftovers(kept), "--keep should have left the run's processes and temp dir in place"
    assert "kept" in output.lower(), output

    # The command the run printed, as a user would type it at the repo root.
    printed = re.search(r"tear down later with: (tox -e teardown -- \S+)", output)
    assert printed, output
    if shutil.which("tox") is None:
        pytest.skip("tox is not on PATH (the printed teardown command runs tox)")
    done = subprocess.run(
        shlex.split(printed.group(1)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=_tox_env(),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert leftovers(kept) == [], done.stdout
    assert "LEFT BEHIND" not in done.stdout
