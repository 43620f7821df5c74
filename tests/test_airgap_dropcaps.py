"""The capability-dropping OCI runtime (ci/airgap/cmd/runc-dropcaps), run for real with a
recording stand-in for runc: the one fake here, since the point is what runc is handed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ci.airgap import gobuild

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="needs Go to build the runtime")

CAPS = ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"]


@pytest.fixture(scope="module")
def shim() -> Path:
    path, _ = gobuild.build_own("runc-dropcaps")
    return path


@pytest.fixture
def recording_runc(tmp_path: Path) -> Path:
    """A ``runc`` that writes its arguments and the files they name, then exits 0."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    runc = bin_dir / "runc"
    runc.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/argv\n')
    runc.chmod(0o755)
    return bin_dir


def _spec(uid: int = 10001) -> dict:
    sets = {name: list(CAPS) for name in ("bounding", "effective", "permitted", "inheritable")}
    return {"ociVersion": "1.2.0", "process": {"user": {"uid": uid}, "capabilities": sets}}


def _run(shim: Path, bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return subprocess.run([str(shim), *args], capture_output=True, text=True, env=env, check=False)


def test_create_drops_the_named_capabilities_from_the_bundle_and_passes_the_rest(
    shim: Path, recording_runc: Path, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps(_spec(uid=4294967294)))
    done = _run(
        shim,
        recording_runc,
        "--drop=CAP_SYS_RESOURCE",
        "--root",
        "/run/x",
        "create",
        "--bundle",
        str(bundle),
        "c1",
    )
    assert done.returncode == 0, done.stderr
    spec = json.loads((bundle / "config.json").read_text())
    for name, caps in spec["process"]["capabilities"].items():
        assert caps == ["CAP_CHOWN", "CAP_SYS_ADMIN"], name
    assert spec["process"]["user"]["uid"] == 4294967294, "numbers must survive exactly"
    argv = (tmp_path / "argv").read_text().split()
    assert argv == ["--root", "/run/x", "create", "--bundle", str(bundle), "c1"]


def test_exec_drops_them_from_the_process_file(
    shim: Path, recording_runc: Path, tmp_path: Path
) -> None:
    process = tmp_path / "process.json"
    process.write_text(json.dumps(_spec()["process"]))
    done = _run(
        shim,
        recording_runc,
        "--drop=CAP_SYS_RESOURCE,CAP_SYS_ADMIN",
        "exec",
        "--process",
        str(process),
        "c1",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(process.read_text())["capabilities"]["bounding"] == ["CAP_CHOWN"]


def test_other_commands_go_to_runc_untouched(
    shim: Path, recording_runc: Path, tmp_path: Path
) -> None:
    done = _run(shim, recording_runc, "--drop=CAP_SYS_RESOURCE", "state", "c1")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "argv").read_text().split() == ["state", "c1"]


def test_an_unreadable_spec_fails_before_runc_runs(
    shim: Path, recording_runc: Path, tmp_path: Path
) -> None:
    done = _run(
        shim,
        recording_runc,
        "--drop=CAP_SYS_RESOURCE",
        "create",
        "--bundle",
        str(tmp_path / "none"),
        "c1",
    )
    assert done.returncode != 0 and "runc-dropcaps:" in done.stderr
    assert not (tmp_path / "argv").exists()
