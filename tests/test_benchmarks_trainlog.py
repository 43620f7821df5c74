"""Splitting an e2e run's train phase by the clock times in its train log (benchmarks.trainlog)."""

from datetime import datetime

import pytest

from benchmarks.trainlog import split_from_files, split_train_phase

# A train.log as the local platform writes it (kfp.local around the component), abridged.
LOG = """\
12:03:13.152 - INFO - Running pipeline: \x1b[95m'mnist-e2e-local-train'\x1b[0m
12:03:13.162 - INFO - Executing task \x1b[96m'train'\x1b[0m
    [KFP Executor 2026-11-25 12:03:13,280 INFO]: Looking for component `train` in ...
    data: 4000 train, 1000 test digits
    trained cnn for 200 steps in 5.86s (34.1 steps/s)
    test_accuracy=0.9610
    exported version 1795608200 to gs://b/export/1795608200
    [KFP Executor 2026-11-25 12:03:26,497 INFO]: Wrote executor output file to /tmp/x.json.
12:03:27.184 - INFO - Task \x1b[96m'train'\x1b[0m finished with status \x1b[92mSUCCESS\x1b[0m
"""


def _epoch(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").timestamp()


def test_the_train_phase_splits_at_the_logged_landmarks():
    start, end = _epoch("2026-11-25 12:03:10.000"), _epoch("2026-11-25 12:03:28.000")
    split = split_train_phase(LOG, start, end)
    assert split == pytest.approx(
        {
            "kfp.local start-up": 3.162,
            "component process start-up": 0.118,
            "component: TF import, build, eval, export": 13.217 - 5.86,
            "component: training steps": 5.86,
            "component exit, kfp.local wrap-up": 0.687,
            "train process exit, harness notices": 0.816,
        },
        abs=1e-3,
    )
    assert sum(split.values()) == pytest.approx(end - start, abs=1e-3)


def test_a_time_of_day_is_put_on_the_day_nearest_the_phase_start():
    # The phase started a second before midnight; kfp.local's stamps are after it.
    log = LOG.replace("12:03:13.162", "00:00:01.000")
    start = _epoch("2026-11-24 23:59:59.000")
    split = split_train_phase(log, start, start + 60)
    assert split is not None
    assert split["kfp.local start-up"] == pytest.approx(2.0, abs=1e-3)


def test_a_log_without_every_landmark_gives_no_split():
    unfinished = LOG.split("12:03:27.184")[0]
    assert split_train_phase(unfinished, 0.0, 1.0) is None
    assert split_train_phase("python -m model.train output only\n", 0.0, 1.0) is None


def test_from_files_reads_the_run_dir(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "train.log").write_text(LOG)
    start, end = _epoch("2026-11-25 12:03:10.000"), _epoch("2026-11-25 12:03:28.000")
    phases = [
        {"name": "provision", "start": 0, "end": 1},
        {"name": "train", "start": start, "end": end},
    ]
    assert split_from_files(tmp_path, phases)["component: training steps"] == 5.86
    assert split_from_files(tmp_path, [{"name": "train", "start": start, "end": None}]) is None
    assert split_from_files(tmp_path / "elsewhere", phases) is None
