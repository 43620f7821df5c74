"""Per-step times from a KFP run's task details (fixtures/kfp/kfp_task_times.py), in the
shape KFP 2.17's API returned them for a real run of this pipeline."""

from __future__ import annotations

from fixtures.kfp.kfp_task_times import StepTime, describe, step_times


def task(name: str, start: str | None, end: str | None) -> dict[str, object]:
    return {"display_name": name, "start_time": start, "end_time": end, "state": "SUCCEEDED"}


RUN = {
    "run_details": {
        "task_details": [
            task("root-driver", "2026-12-04T18:03:55Z", "2026-12-04T18:04:05Z"),
            task("train-driver", "2026-12-04T18:04:06Z", "2026-12-04T18:04:16Z"),
            task("train-driver(0)", "2026-12-04T18:04:06Z", "2026-12-04T18:04:10Z"),
            task("train", "2026-12-04T18:04:16Z", "2026-12-04T18:04:47Z"),
            task("serve-driver", "2026-12-04T18:04:47Z", "2026-12-04T18:04:57Z"),
            task("serve", "2026-12-04T18:04:57Z", "2026-12-04T18:05:18Z"),
            task("web-ui-driver", "2026-12-04T18:05:18Z", "2026-12-04T18:05:28Z"),
            task("web-ui", "2026-12-04T18:05:28Z", None),
        ]
    }
}


def test_each_step_gets_its_driver_and_executor_seconds_in_order() -> None:
    assert step_times(RUN) == [
        StepTime("train", 10.0, 31.0),
        StepTime("serve", 10.0, 21.0),
        StepTime("web-ui", 10.0, None),
    ]


def test_a_run_without_details_gives_unknowns_and_says_so() -> None:
    times = step_times({"run_details": None})
    assert [t.driver for t in times] == [None, None, None]
    assert describe(times) == (
        "train: driver ?, executor ?; serve: driver ?, executor ?; web-ui: driver ?, executor ?"
    )


def test_describe_rounds_to_seconds() -> None:
    assert describe([StepTime("train", 10.2, 30.6)]) == "train: driver 10s, executor 31s"
