"""CPU seconds per process of a run, between two moments, sampled from a thread while it runs.

The e2e run's train phase shares two cores with everything the run starts beside the trainer
(model server, web UI, GCS emulator, Chromium, pytest itself). Which of them takes the CPU
the trainer waits for is the question: each process's CPU time (user + system, its own
threads; children are separate processes here) is read four times a second, and the CPU
used between two wall-clock stamps is interpolated from the samples around them.
"""

from __future__ import annotations

import bisect
import threading
import time
import types
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import psutil

INTERVAL_SECONDS = 0.25

# The part a process plays, by what its command line contains (first match wins).
ROLES: tuple[tuple[str, str], ...] = (
    ("executor_main", "train component (TensorFlow)"),
    ("pipeline.local_run", "train step (kfp.local)"),
    ("-m serving", "model server"),
    ("-m web_ui", "web UI"),
    ("gcp_storage_emulator", "GCS emulator"),
    ("chrom", "Chromium"),
    ("playwright", "Playwright driver"),
    ("pytest", "pytest"),
)


def role(cmdline: Sequence[str]) -> str:
    """The part a process with *cmdline* plays in the run (``other: <program>`` if none)."""
    text = " ".join(cmdline)
    for needle, name in ROLES:
        if needle in text:
            return name
    return f"other: {cmdline[0].rsplit('/', 1)[-1]}" if cmdline else "other"


@dataclass
class _Track:
    role: str
    created: float
    stamps: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def at(self, moment: float) -> float:
        """CPU seconds used by *moment*: 0 before it existed, interpolated between samples."""
        if moment <= self.created or not self.stamps:
            return 0.0
        index = bisect.bisect_right(self.stamps, moment)
        if index == 0:  # between its start and the first sample: assume an even rate
            first = self.stamps[0]
            return self.cpu[0] * (moment - self.created) / max(first - self.created, 1e-9)
        if index == len(self.stamps):
            return self.cpu[-1]
        t0, t1 = self.stamps[index - 1], self.stamps[index]
        c0, c1 = self.cpu[index - 1], self.cpu[index]
        return c0 + (c1 - c0) * (moment - t0) / max(t1 - t0, 1e-9)


class ProcessCpu:
    """Sample the CPU time of process *pid* and its descendants until the block ends.

    ``with ProcessCpu(pid) as cpu: ...`` then ``cpu.between(start, end)``: seconds per role.
    """

    def __init__(self, pid: int, interval: float = INTERVAL_SECONDS) -> None:
        self.pid = pid
        self.interval = interval
        self._tracks: dict[tuple[int, float], _Track] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="process-cpu", daemon=True)

    def _sample(self) -> None:
        while True:
            self._sample_once()
            if self._stop.wait(self.interval):
                self._sample_once()
                return

    def _sample_once(self) -> None:
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        for process in tree:
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    key = (process.pid, process.create_time())
                    track = self._tracks.get(key)
                    if track is None:
                        track = _Track(role(process.cmdline()), key[1])
                        self._tracks[key] = track
            except psutil.Error:  # ended between listing and reading
                continue
            track.stamps.append(time.time())
            track.cpu.append(times.user + times.system)

    def between(self, start: float, end: float) -> dict[str, float]:
        """CPU seconds each role used from *start* to *end* (``time.time()`` stamps)."""
        used: dict[str, float] = defaultdict(float)
        for track in self._tracks.values():
            used[track.role] += max(0.0, track.at(end) - track.at(start))
        return dict(sorted(used.items(), key=lambda item: -item[1]))

    def __enter__(self) -> ProcessCpu:
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
