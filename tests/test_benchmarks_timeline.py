"""Splitting a program's wall time by its output lines (benchmarks.timeline, the train split)."""

import sys

import pytest

from benchmarks.phase_times import train_breakdown
from benchmarks.timeline import Line, run_timed, stages

# What python -m pipeline.local_run prints, abridged: kfp.local's lines, then the component's
# (indented by kfp.local), then its own summary.
TRAIN_OUTPUT = [
    Line(1.3, "12:21:58.132 - INFO - Executing task 'train'"),
    Line(1.4, "    data: 4000 train, 1000 test digits"),
    Line(5.0, "    step 100: loss 0.4012"),
    Line(9.5, "    trained cnn for 200 steps in 6.50s (30.8 steps/s)"),
    Line(10.5, "    test_accuracy=0.9610"),
    Line(12.0, "    exported version 17 to /tmp/x/export/17"),
    Line(12.8, "pipeline.local_run: accuracy 0.9610, version 17"),
]


def test_stages_end_at_their_first_matching_line():
    lines = [Line(1.0, "a"), Line(2.5, "b"), Line(2.7, "b again"), Line(4.0, "c")]
    assert stages(lines, [("to a", "^a"), ("to b", "^b")], total=5.0) == {
        "to a": 1.0,
        "to b": 1.5,
        "exit": 2.5,
    }


def test_a_missing_stage_names_its_pattern_and_the_last_lines():
    with pytest.raises(ValueError, match=r"stage 'export'.*\n.*data: 1"):
        stages([Line(1.0, "data: 1")], [("export", "^exported")], total=2.0)


def test_train_breakdown_takes_the_steps_out_of_their_set_up():
    result = train_breakdown(TRAIN_OUTPUT, total=13.0)
    assert result == pytest.approx(
        {
            "kfp.local start-up": 1.3,
            "component start-up, data load": 0.1,
            "TensorFlow import, model build, first-step tracing": 9.5 - 1.4 - 6.5,
            "training steps": 6.5,
            "checkpoint, test-set evaluation": 1.0,
            "SavedModel export": 1.5,
            "component exit, kfp.local wrap-up": 0.8,
            "exit": 0.2,
        }
    )
    assert list(result)[2:4] == [
        "TensorFlow import, model build, first-step tracing",
        "training steps",
    ]
    assert sum(result.values()) == pytest.approx(13.0)


def test_run_timed_stamps_lines_in_order_and_returns_the_exit_code(tmp_path):
    code = "import time; print('one'); time.sleep(0.2); print('two'); raise SystemExit(3)"
    lines, total, exit_code = run_timed([sys.executable, "-c", code], tmp_path)
    assert [line.text for line in lines] == ["one", "two"]
    assert lines[1].at - lines[0].at >= 0.15
    assert total >= lines[1].at
    assert exit_code == 3
