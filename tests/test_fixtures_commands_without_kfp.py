"""The commands that need no KFP (``plan``, ``teardown`` of a local run) run where the kfp
packages are missing, as outside the tox env; the teardown command a run prints is one that
works from the repo root."""

import subprocess
import sys
from pathlib import Path

from fixtures.created.local_resources import TempDir
from fixtures.ledger import Ledger, teardown_command

ROOT = Path(__file__).resolve().parents[1]
# kfp and its API client made unimportable, as in a Python without them.
WITHOUT_KFP = (
    "import sys; sys.modules.update(kfp=None, kfp_server_api=None);"
    " from fixtures.__main__ import main; sys.exit(main(sys.argv[1:]))"
)


def _command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_KFP, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_teardown_of_a_local_run_imports_no_kfp(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    ledger = Ledger(tmp_path / "ledger.jsonl")
    TempDir.record(ledger, str(scratch), path=str(scratch))
    done = _command("teardown", str(ledger.path))
    assert done.returncode == 0, done.stderr
    assert f"teardown: tempdir {scratch}: removed" in done.stdout
    assert not scratch.exists()


def test_the_plans_import_no_kfp_and_name_the_teardown_command_that_works():
    for platform in ("kind", "gke"):
        done = _command("plan", "--platform", platform, "--keep")
        assert done.returncode == 0, done.stderr
        assert "ModuleNotFoundError" not in done.stderr
        assert "tox -e teardown -- artifacts/<run-id>/ledger.jsonl" in done.stdout, done.stdout


def test_the_printed_teardown_command_is_relative_to_the_repo_root():
    ledger = ROOT / "artifacts" / "run-1" / "ledger.jsonl"
    assert teardown_command(ledger, ROOT) == "tox -e teardown -- artifacts/run-1/ledger.jsonl"
    elsewhere = Path("/srv/runs/run-1/ledger.jsonl")
    assert teardown_command(elsewhere, ROOT) == f"tox -e teardown -- {elsewhere}"
    tox_ini = (ROOT / "tox.ini").read_text()
    assert "[testenv:teardown]" in tox_ini
    assert "commands = python -m fixtures teardown {posargs}" in tox_ini
