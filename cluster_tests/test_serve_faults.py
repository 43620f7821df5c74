"""The serve step on an export its model server cannot load, on the tier's real cluster: the
step fails with the server's own reason, well before its deploy timeout, and the run it
belonged to leaves nothing.

The step runs as a KFP step runs it (``run_step_pod``: the project image, the step's service
account, the run's RBAC and model volume), against the air-gapped kind overlay's model server
(the project's stand-in for TF Serving). The export is a version directory whose
``saved_model.pb`` is not a SavedModel: the step's preflight and the server's poll both take it
for a version, and only loading it fails.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Final

import pytest

from ci.airgap.manifest import Manifest
from cluster_tests.conftest import new_platform, run_step_pod, step
from fixtures.created import teardown_plan
from fixtures.platforms.kind import KindPlatform

pytestmark = pytest.mark.kfp_faults

BAD_EXPORT: Final = "/mnt/not-a-saved-model"
DEPLOY_TIMEOUT: Final = 600  # the serve step's default: the failure must come well before it


@pytest.fixture
def own_run(cluster: KindPlatform, built: Manifest, run: KindPlatform) -> Iterator[KindPlatform]:
    """A run of its own on the tier's cluster (adopted): namespace, model volume and RBAC,
    provisioned by the kind platform's steps; the image the shared *run* kind-loaded.
    Teardown: this run's ledger (namespace with the model server in it, PVs, node directory,
    step pods), each checked gone."""
    platform = new_platform(built, cluster.cluster)
    platform.image = run.image
    try:
        for title in ("tools and docker", "kind cluster", "namespace ", "the model volume", "RBAC"):
            step(platform, title).run()
        yield platform
    finally:
        teardown_plan.teardown(platform.ledger.resources())
    assert teardown_plan.leftovers(platform.ledger.resources()) == []


def test_serve_on_an_export_that_is_not_a_saved_model_fails_with_the_servers_reason(
    own_run: KindPlatform,
) -> None:
    run_step_pod(
        own_run,
        "tier-write-bad-export",
        [
            "sh", "-c",
            f"mkdir -p {BAD_EXPORT}/1 && echo 'not a SavedModel' > {BAD_EXPORT}/1/saved_model.pb",
        ],
    )  # fmt: skip
    started = time.monotonic()
    log = run_step_pod(
        own_run,
        "tier-serve-bad-export",
        [
            "python", "-m", "pipeline.deploy", "serve",
            "--overlay", "kind",
            "--namespace", own_run.namespace,
            "--run-id", own_run.run_id,
            "--model-base-path", BAD_EXPORT,
            "--pvc-name", own_run.pvc_name,
            "--serving-image", str(own_run.image),
            "--timeout", str(DEPLOY_TIMEOUT),
        ],
        expect="Failed",
    )  # fmt: skip
    seconds = time.monotonic() - started
    # The stand-in's own text (TensorFlow's reader), through GetModelStatus, typed by the probe.
    reason = (
        f"could not load model mnist version 1: DATA_LOSS: Can't parse"
        f" {BAD_EXPORT}/1/saved_model.pb as binary proto"
    )
    assert f"error: serve: the model server at tf-serving.{own_run.namespace}.svc:9000" in log, log
    assert reason in log, log[-3000:]
    assert "timed out" not in log, log[-3000:]
    # Pod start, the server's TensorFlow import and five attempts 5 s apart: about a minute.
    assert seconds < DEPLOY_TIMEOUT / 2, f"the serve step took {seconds:.0f}s to fail"
