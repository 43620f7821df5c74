"""Peak memory of a process and everything it starts, sampled from a thread while it runs.

The sum of resident set sizes over the process tree: a page two processes share (a library
both map) counts in each, so this is an upper bound on what the tree holds, and the same bound
for every run it is compared with. Reading RSS is one small /proc read per process, cheap
enough to sample four times a second beside the run it measures.
"""

from __future__ import annotations

import threading
import types

import psutil

INTERVAL_SECONDS = 0.25


def tree_rss(pid: int) -> int:
    """Bytes resident in process *pid* and its descendants now (0 if it is gone)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:  # ended between listing and reading: it holds nothing now
            continue
    return total


class PeakMemory:
    """Track the peak of :func:`tree_rss` for *pid* until the block ends.

    ``with PeakMemory(process.pid) as peak: process.wait()`` then ``peak.bytes``.
    """

    def __init__(self, pid: int, interval: float = INTERVAL_SECONDS) -> None:
        self.pid = pid
        self.interval = interval
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)

    def _sample(self) -> None:
        while True:
            self.bytes = max(self.bytes, tree_rss(self.pid))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
