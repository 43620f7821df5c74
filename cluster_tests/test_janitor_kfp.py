"""The janitor's KFP part (``python -m fixtures janitor``: Janitor._find_kfp and the KFP teardown kinds) on the tier cluster
with the KFP API STAND-IN (tests/support/kfp_stand_in.py: KFP cannot run on this machine).

Safe beside the other tier tests: the TTL is two days and the cluster was made this session,
so the only objects old enough are the stand-in's back-dated ones. The stand-in shows what the
janitor asked for and deleted; that KFP itself would answer so is not shown here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fixtures.__main__ import main
from fixtures.cluster.kfp_api import marker
from fixtures.naming import new_run_id
from fixtures.platforms.kind import KindPlatform
from tests.support.kfp_stand_in import run_state, serving


def test_the_janitor_deletes_old_marked_kfp_runs_and_experiments_only(
    cluster: KindPlatform, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MNIST_E2E_KFP_TOKEN", "stand-in-token")  # an external endpoint's auth
    old = datetime.now(UTC) - timedelta(days=3)
    crashed, young, foreign = new_run_id(), new_run_id(), new_run_id()
    with serving() as (state, url):
        experiment = state.add_experiment(crashed, description=marker(crashed), created_at=old)
        left = state.add_run(
            crashed,
            run_state("RUNNING"),
            experiment_id=experiment,
            description=marker(crashed),
            created_at=old,
        )
        recent = state.add_run(young, run_state("RUNNING"), description=marker(young))
        # old, named like a run id, but without the harness's marker: never the janitor's
        unmarked = state.add_run(foreign, run_state("RUNNING"), created_at=old)
        status = main(
            [
                "janitor",
                "--platform",
                "kind",
                "--older-than",
                "48h",
                "--kube-context",
                cluster.context,
                "--kfp-endpoint",
                url,
            ]
        )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "janitor: 2 labelled resource(s) older than 48h" in out, out
    assert left not in state.runs and experiment not in state.experiments, out
    assert set(state.runs) == {recent, unmarked}, out
    # a run still going is terminated before it is deleted
    calls = [(r.method, r.path) for r in state.requests if left in r.path]
    terminate = ("POST", f"/apis/v2beta1/runs/{left}:terminate")
    assert calls.index(terminate) < calls.index(("DELETE", f"/apis/v2beta1/runs/{left}")), calls
