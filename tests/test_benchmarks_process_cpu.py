"""CPU per process of a run: roles from command lines, seconds between two moments."""

import subprocess
import sys
import time

import pytest

from benchmarks.process_cpu import ProcessCpu, role


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        (["python", "-m", "serving", "--port=1"], "model server"),
        (["python", "-m", "pipeline.local_run", "--export-dir", "x"], "train step (kfp.local)"),
        (["sh", "-c", "python3 -m kfp.dsl.executor_main --x"], "train component (TensorFlow)"),
        (["/usr/lib/chromium/chromium", "--type=renderer"], "Chromium"),
        (["python", "-m", "pytest", "e2e"], "pytest"),
        (["/usr/bin/sleep", "1"], "other: sleep"),
    ],
)
def test_a_process_plays_the_role_its_command_line_names(cmdline, expected):
    assert role(cmdline) == expected


def test_cpu_between_two_moments_counts_a_busy_child_and_not_an_idle_one():
    """A parent that sleeps, then waits while its child spins for 1.5 s: the tree used about
    that much, and next to nothing in the moments before the child started."""
    # spins until it has used 1.5 s of CPU, not of wall time: on a loaded machine a wall-time
    # spin got 0.64 s of CPU and failed the test for the machine's load, not the accounting
    spin = "import time\nwhile time.process_time() < 1.5: pass"
    code = f"import subprocess, sys, time; time.sleep(0.5); subprocess.run([sys.executable, '-c', {spin!r}])"
    before = time.time()
    with subprocess.Popen([sys.executable, "-c", code]) as parent, ProcessCpu(parent.pid) as cpu:
        parent.wait()
    after = time.time()
    assert sum(cpu.between(before, after).values()) == pytest.approx(1.5, abs=0.6)
    assert sum(cpu.between(before, before + 0.3).values()) < 0.3
