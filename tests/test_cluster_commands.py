"""Running the cluster tools: stdout on success, the command named on failure, and a timeout
or an interrupt stopping everything the command started, not only the command."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from fixtures.cluster import commands
from kubekit.exceptions import ActionFailed, Unreachable
from kubekit.wait import until

# A command that leaves a child behind, the way `kind create cluster` leaves its `docker run`:
# the grandchild's pid goes to a file, then the command waits on it.
LEAVES_A_CHILD = 'sleep 300 & echo $! > "$1"; wait'


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
    pid_file = tmp_path / "child.pid"

    # SIGINT to this process once the grandchild exists: Ctrl-C, or the plugin's SIGTERM.
    def interrupt() -> None:
        until(
            "the child's pid file", lambda: pid_file.exists() and pid_file.read_text(), timeout=30
        )
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        commands.run("leave a child", ["sh", "-c", LEAVES_A_CHILD, "sh", str(pid_file)], timeout=60)
    assert time.monotonic() - started < 30
    child = int(pid_file.read_text())
    until(f"pid {child} gone", lambda: _gone(child), timeout=10)
