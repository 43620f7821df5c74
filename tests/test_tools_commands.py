"""Running the cluster tools: stdout on success, the command named on failure, and a timeout
or an interrupt stopping everything the command started, not only the command."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from fixtures.tools import commands
from kubekit.exceptions import ActionFailed, Unreachable
from kubekit.wait import until

# A command that leaves a child behind, the way `kind create cluster` leaves its `docker run`:
# the grandchild's pid goes to a file, then the command waits on it.
LEAVES_A_CHILD = 'sleep 300 & echo $! > "$1"; wait'
# A background job of a non-interactive shell starts with SIGINT ignored (as CI may run
# this); a terminal's Ctrl-C reaches a harness with Python's own handler, so it gets it back.
HARNESS = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from fixtures.tools import commands
commands.run("leave a child", ["sh", "-c", sys.argv[1], "sh", sys.argv[2]], timeout=120)
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_stdout_on_success_and_the_command_named_on_failure() -> None:
    assert commands.run("say hi", ["sh", "-c", "echo hi"]) == "hi\n"
    with pytest.raises(ActionFailed, match=r"'fail' failed .*exited with 3: boom"):
        commands.run("fail", ["sh", "-c", "echo boom >&2; exit 3"])
    with pytest.raises(ActionFailed, match="'absent': no-such-tool-here is not installed"):
        commands.run("absent", ["no-such-tool-here"])


def test_a_timeout_stops_the_commands_children_too(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    with pytest.raises(Unreachable, match="did not finish in 2s"):
        commands.run("leave a child", ["sh", "-c", LEAVES_A_CHILD, "sh", str(pid_file)], timeout=2)
    child = int(pid_file.read_text())
    until(f"pid {child} gone", lambda: _gone(child), timeout=10)


def test_an_interrupt_stops_the_commands_children_too(tmp_path: Path) -> None:
    # The harness in a process of its own, interrupted the way Ctrl-C interrupts it (the
    # plugin turns SIGTERM into the same KeyboardInterrupt) once the grandchild exists.
    pid_file = tmp_path / "child.pid"
    harness = subprocess.Popen(
        [
            sys.executable, "-c", HARNESS, LEAVES_A_CHILD, str(pid_file),
        ],
        cwd=Path(__file__).resolve().parents[1],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        until(
            "the child's pid file", lambda: pid_file.exists() and pid_file.read_text(), timeout=60
        )
        harness.send_signal(signal.SIGINT)
        _, err = harness.communicate(timeout=60)
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait()
    assert "KeyboardInterrupt" in err, err
    child = int(pid_file.read_text())
    until(f"pid {child} gone", lambda: _gone(child), timeout=10)
