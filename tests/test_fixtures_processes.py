import sys
from pathlib import Path

import psutil

from fixtures import processes
from fixtures.ledger import Ledger, Resource
from fixtures.ports import free_port, is_port_free
from kubekit.wait import until

# A child that sleeps until it is stopped (a minute at most).
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
# A parent that starts a grandchild and ignores SIGTERM: stop() must still end both.
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("ready", flush=True)
time.sleep(600)
"""


def test_stop_ends_the_whole_group_even_when_sigterm_is_ignored(tmp_path):
    ledger = Ledger(tmp_path / "ledger.jsonl")
    started = processes.start(
        "stubborn", [sys.executable, "-c", STUBBORN], ledger=ledger, log_path=tmp_path / "s.log"
    )
    until("the child printed ready", lambda: "ready" in started.log_path.read_text(), timeout=10)
    group = [p for p in psutil.process_iter() if p.pid != started.pid and _in_group(p, started.pid)]
    assert group, "the grandchild should be in the child's process group"
    (resource,) = ledger.resources()
    message = processes.stop(resource, grace=0.5)
    assert "killed" in message
    assert not processes.is_running(resource)
    assert all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in group)


def _in_group(proc, pgid):
    try:
        import os

        return os.getpgid(proc.pid) == pgid
    except (ProcessLookupError, psutil.NoSuchProcess):
        return False


def test_a_recycled_pid_is_never_signalled(tmp_path):
    me = psutil.Process()
    resource = Resource("process", "old", {"pid": me.pid, "create_time": me.create_time() - 100})
    assert "already gone" in processes.stop(resource)
    assert me.is_running()


def test_stopping_twice_is_harmless(tmp_path):
    ledger = Ledger(tmp_path / "ledger.jsonl")
    processes.start(
        "sleep",
        SLEEPER,
        ledger=ledger,
        log_path=tmp_path / "p.log",
    )
    (resource,) = ledger.resources()
    assert "stopped" in processes.stop(resource)
    assert "already gone" in processes.stop(resource)


def test_free_port_is_free_and_a_bound_one_is_not():
    import socket

    port = free_port()
    assert is_port_free(port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert not is_port_free(port)


def test_the_error_line_is_the_last_stated_error() -> None:
    from fixtures.processes import error_line

    log = (
        "training...\n"
        "error: /data/train-images-idx3-ubyte.gz: not a complete gzip file\n"
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1\n'
        "RuntimeError: Task train finished with status FAILURE\n"
        "    more context\n"
    )
    assert error_line(log).startswith("error: /data/train-images-idx3-ubyte.gz")
    assert error_line(log.replace("error: ", "")) == (
        "RuntimeError: Task train finished with status FAILURE"
    )
    assert error_line("all fine\nstill fine\n") is None


def test_a_background_process_and_its_session_run_niced(tmp_path):
    # Threads inherit the niceness of the thread that makes them: the child's TensorFlow
    # threads, made later, run niced as well.
    ledger = Ledger(tmp_path / "ledger.jsonl")
    started = processes.start(
        "background",
        SLEEPER,
        ledger=ledger,
        log_path=tmp_path / "b.log",
        background=True,
    )
    foreground = processes.start(
        "foreground",
        SLEEPER,
        ledger=ledger,
        log_path=tmp_path / "f.log",
    )
    try:
        assert psutil.Process(started.pid).nice() == processes.BACKGROUND_NICE
        assert psutil.Process(foreground.pid).nice() == psutil.Process().nice()
        autogroup = Path(f"/proc/{started.pid}/autogroup")
        if autogroup.exists():  # kernels with autogroup scheduling
            assert autogroup.read_text().split()[-1] == str(processes.BACKGROUND_NICE)
    finally:
        for resource in ledger.resources():
            processes.stop(resource)
