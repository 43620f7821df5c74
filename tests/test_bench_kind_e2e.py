"""The kind e2e benchmark's reading of a run's steps.log (benchmarks/kind_e2e.py)."""

from __future__ import annotations

from benchmarks.kind_e2e import step_seconds

LOG = """23:59:50 check 1/2: tools and docker
23:59:51 check 2/2: Kubeflow Pipelines in the air-gapped build
23:59:51 provision 1/6: kind cluster mnist-dev: create or adopt
00:00:05 provision 2/6: namespace x
00:00:05 pipeline 4/6: wait for train → serve → web-ui
00:01:08 pipeline step 'train' succeeded
00:02:00 pipeline 4/6: FAILED: boom
"""


def test_each_step_lasts_until_the_next_the_last_is_unknown_midnight_crossed() -> None:
    assert step_seconds(LOG) == [
        ("check 1/2: tools and docker", 1.0),
        ("check 2/2: Kubeflow Pipelines in the air-gapped build", 0.0),
        ("provision 1/6: kind cluster mnist-dev: create or adopt", 14.0),
        ("provision 2/6: namespace x", 0.0),
        ("pipeline 4/6: wait for train → serve → web-ui", None),
    ]


def test_an_empty_log_has_no_steps() -> None:
    assert step_seconds("") == []


def test_the_rehearsal_benchmark_finds_each_runs_image_step_by_its_title() -> None:
    from benchmarks.gke_rehearsal import step_named

    log = "\n".join(
        [
            "07:47:47 provision 3/6: Kubeflow Pipelines 2.17.0 standalone",
            "07:51:26 provision 4/6: the project image",
            "07:54:11 provision 5/6: the model volume on the node",
        ]
    )
    assert step_named(step_seconds(log), "the project image") == 165.0
    assert step_named(step_seconds(log), "no such step") is None
