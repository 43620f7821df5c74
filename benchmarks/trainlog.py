"""Inside the e2e run's train phase, from the clock times kfp.local and its executor log.

The local platform's train step (``python -m pipeline.local_run``) logs wall-clock times at
its landmarks: kfp.local starts the task, the component's executor starts, the executor
writes its outputs, kfp.local sees the task finish. Set against the phase's own start and end
(phases.json), they split the train phase of a real e2e run, contention and all.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

# kfp.local prints the time of day only; its executor prints the full local date and time.
_KFP_LOCAL = re.compile(r"^(?P<time>\d\d:\d\d:\d\d\.\d{3}) - INFO - (?P<text>.*)$")
_EXECUTOR = re.compile(
    r"\[KFP Executor (?P<stamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO\]: (?P<text>.*)$"
)
_TRAINED = re.compile(r"trained \w+ for \d+ steps in (?P<seconds>[\d.]+)s")

LANDMARKS = (
    ("task started", _KFP_LOCAL, "Executing task"),
    ("executor started", _EXECUTOR, "Looking for component"),
    ("outputs written", _EXECUTOR, "Wrote executor output"),
    ("task finished", _KFP_LOCAL, "finished with status"),
)


def _time_of_day(text: str, near: float) -> float:
    """Epoch seconds of a local ``HH:MM:SS.mmm`` on the day that puts it nearest *near*."""
    clock = datetime.strptime(text, "%H:%M:%S.%f").time()
    day = datetime.fromtimestamp(near).date()
    candidates = [datetime.combine(day + timedelta(days=d), clock) for d in (-1, 0, 1)]
    return min((c.timestamp() for c in candidates), key=lambda t: abs(t - near))


def landmarks(log_text: str, phase_start: float) -> dict[str, float]:
    """Epoch seconds of each landmark found in a train log (the first of each)."""
    found: dict[str, float] = {}
    for line in log_text.splitlines():
        for name, pattern, needle in LANDMARKS:
            if name in found or needle not in line:
                continue
            match = pattern.search(line)
            if not match:
                continue
            if pattern is _KFP_LOCAL:
                found[name] = _time_of_day(match["time"], phase_start)
            else:
                found[name] = datetime.strptime(match["stamp"], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return found


def split_train_phase(log_text: str, start: float, end: float) -> dict[str, float] | None:
    """Seconds of each part of a train phase that ran from *start* to *end* (epoch seconds).

    None when the log lacks a landmark (another train step, or a failed run).
    """
    marks = landmarks(log_text, start)
    trained = _TRAINED.search(log_text)
    if len(marks) < len(LANDMARKS) or not trained:
        return None
    steps = float(trained["seconds"])
    component = marks["outputs written"] - marks["executor started"]
    return {
        "kfp.local start-up": marks["task started"] - start,
        "component process start-up": marks["executor started"] - marks["task started"],
        "component: TF import, build, eval, export": component - steps,
        "component: training steps": steps,
        "component exit, kfp.local wrap-up": marks["task finished"] - marks["outputs written"],
        "train process exit, harness notices": end - marks["task finished"],
    }


def split_from_files(run_dir: Path, phases: list[dict[str, object]]) -> dict[str, float] | None:
    """:func:`split_train_phase` for a run's artifacts dir and its phases.json contents."""
    train = next((p for p in phases if p.get("name") == "train" and p.get("end")), None)
    log = run_dir / "logs" / "train.log"
    if train is None or not log.is_file():
        return None
    text = log.read_text(encoding="utf-8", errors="replace")
    return split_train_phase(text, float(train["start"]), float(train["end"]))  # type: ignore[arg-type]
