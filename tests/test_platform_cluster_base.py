"""The shared cluster flow's KFP submission: the compiled pipeline goes to KFP with the
parameters it declares, and the experiment and run are recorded — against the KFP API
stand-in (tests/support/kfp_stand_in.py), no Kubernetes: it records the request body the
harness sent, which the real KFP (on the cluster tier) does not show back as sent.

Waiting on a KFP run (success, a failed step, a pod that cannot pull, a timeout) runs on the
real cluster tier: cluster_tests/test_kfp_run_wait.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.config import HarnessConfig
from fixtures.kfp.kfp_api import KfpApi
from fixtures.ledger import Ledger
from fixtures.phases import PhaseClock
from tests.support.kfp_stand_in import serving

RUN = "mnist-e2e-20261125t120000z-abcd"


@pytest.mark.parametrize("cls_name", ["kind", "gke"])
def test_compiled_pipeline_is_submitted_with_parameters_it_declares(
    tmp_path: Path, cls_name: str
) -> None:
    from fixtures.platforms import get_platform

    options = {"kube_context": "ctx", "gcp_project": "proj", "registry": "r.example/x"}
    config = HarnessConfig(platform=cls_name, artifacts_dir=tmp_path, **options)
    subject = get_platform(cls_name)(config, RUN, Ledger(tmp_path / "ledger.jsonl"), PhaseClock())
    subject.image = "r.example/x/mnist-e2e:0123456789ab"
    with serving() as (stand_in, host):
        subject.compile_step().run()
        subject.kfp = KfpApi(host, attempts=1)
        subject.submit_step().run()
    [post] = stand_in.calls("POST", "/apis/v2beta1/runs")
    body = post.body
    # With a platform spec (on-prem PVC mounts) the body nests both, as kfp.Client sends it.
    spec = body["pipeline_spec"].get("pipeline_spec", body["pipeline_spec"])
    declared = spec["root"]["inputDefinitions"]["parameters"]
    passed = body["runtime_config"]["parameters"]
    assert set(passed) <= set(declared), f"not pipeline inputs: {set(passed) - set(declared)}"
    assert passed["namespace"] == RUN and passed["image"] == subject.image
    [experiment] = stand_in.experiments.values()
    [run] = stand_in.runs.values()
    assert body["experiment_id"] == experiment["experiment_id"]
    assert experiment["display_name"] == RUN and run["display_name"] == RUN
    recorded = [(r.kind, r.details["id"]) for r in subject.ledger.resources()]
    assert recorded == [
        ("kfp-experiment", experiment["experiment_id"]),
        ("kfp-run", run["run_id"]),
    ]
    assert subject.kfp_run_id == run["run_id"]
    assert subject.ledger.resources()[1].details["endpoint"]["context"] == "ctx"
