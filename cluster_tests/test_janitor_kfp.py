"""The janitor's KFP part (``python -m fixtures janitor``: Janitor._find_kfp and the KFP teardown
kinds) on the tier's real Kubeflow Pipelines: real marked experiments and runs, old and young,
and a foreign pair that only looks like the harness's.

KFP sets an object's creation time itself, so "old" is made by waiting past a short TTL, not
by back-dating. That TTL also takes every other labelled object of the session (the shared
run's namespace and volumes, the other tests' runs): the test runs after the rest.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Final

import kfp_server_api
import pytest

from cluster_tests import kfp_runs
from cluster_tests.kfp_runs import Shell
from fixtures.__main__ import main
from fixtures.created.kfp_resources import KfpExperiment, KfpRun
from fixtures.kfp.kfp_api import KfpApi
from fixtures.ledger import Ledger
from fixtures.naming import new_run_id
from fixtures.platforms.kind import KindPlatform
from kubekit.exceptions import is_not_found

TTL_SECONDS: Final = 20


def gone(read: object) -> bool:
    """Does the real KFP answer 404 for *read* (a call of KfpApi)?"""
    try:
        read()  # type: ignore[operator]
    except Exception as exc:
        if is_not_found(exc):
            return True
        raise
    return False


@pytest.mark.last(0)  # its short TTL removes every labelled object, the shared run's too
def test_the_janitor_deletes_old_marked_kfp_runs_and_experiments_only(
    cluster: KindPlatform,
    run: KindPlatform,
    kfp: KfpApi,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    assert run.image
    endpoint = run.kfp_endpoint()
    sleeping = kfp_runs.pipeline_spec(
        kfp_runs.pipeline_name("janitor"), [Shell("train", run.image, "sleep 600")]
    )
    quick = kfp_runs.pipeline_spec(
        kfp_runs.pipeline_name("janitor"), [Shell("train", run.image, "true")]
    )
    # what a crashed run left: a marked experiment and a run still going, in no live ledger
    crashed = kfp_runs.submit(kfp, Ledger(tmp_path / "crashed.jsonl"), endpoint, sleeping)
    # someone else's: named like a run id, without the harness's marker
    foreign_name = new_run_id()
    foreign_experiment = kfp.experiments.experiment_service_create_experiment(
        kfp_server_api.V2beta1Experiment(display_name=foreign_name)
    ).experiment_id
    KfpExperiment.record(
        cluster.ledger, foreign_name, id=foreign_experiment, endpoint=endpoint.to_dict()
    )
    foreign_run = kfp.runs.run_service_create_run(
        kfp_server_api.V2beta1Run(
            experiment_id=foreign_experiment, display_name=foreign_name, pipeline_spec=quick
        )
    ).run_id
    KfpRun.record(cluster.ledger, foreign_name, id=foreign_run, endpoint=endpoint.to_dict())
    time.sleep(TTL_SECONDS + 3)  # KFP's creation times are whole seconds
    young = kfp_runs.submit(kfp, cluster.ledger, endpoint, quick)

    status = main(
        [
            "janitor",
            "--platform",
            "kind",
            "--older-than",
            f"{TTL_SECONDS}s",
            "--kube-context",
            run.context,
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert gone(lambda: kfp.get_run(crashed.kfp_run_id)), out
    assert gone(lambda: kfp.get_experiment(crashed.experiment_id)), out
    # a run still going is terminated before it is deleted
    assert re.search(
        rf"kfp-run {crashed.run_id} \({crashed.kfp_run_id}\): terminated \(\w+\) and deleted", out
    ), out
    for kept in (young.kfp_run_id, foreign_run):
        assert kfp.get_run(kept).run_id == kept, out
    for kept in (young.experiment_id, foreign_experiment):
        assert kfp.get_experiment(kept).experiment_id == kept, out
    assert foreign_name not in out and young.run_id not in out, out
