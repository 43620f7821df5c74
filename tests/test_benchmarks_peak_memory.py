"""benchmarks.peak_memory: the summed RSS of a process tree, and its peak while a block runs."""

import os
import signal
import subprocess
import sys
import time

from benchmarks.peak_memory import PeakMemory, tree_rss

MIB = 2**20
# A parent that starts a child holding 64 MiB, then both wait to be stopped.
HOLDER = "import time; block = bytearray(64 * 2**20); time.sleep(60)"
PARENT = (
    "import subprocess, sys, time\n"
    f"child = subprocess.Popen([sys.executable, '-c', {HOLDER!r}])\n"
    "print('started', flush=True)\n"
    "time.sleep(60)\n"
)


def test_the_tree_counts_children_and_the_peak_is_kept():
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert parent.stdout.readline().strip() == "started"
        with PeakMemory(parent.pid, interval=0.05) as peak:
            deadline = time.monotonic() + 30
            while tree_rss(parent.pid) < 64 * MIB and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)
        assert peak.bytes >= 64 * MIB
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()


def test_a_process_that_is_gone_holds_nothing():
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    assert tree_rss(ended.pid) == 0
