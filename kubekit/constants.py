"""The Kubernetes names and numbers every part of the project shares, defined once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# Every object a run creates carries both labels; the janitor selects on them.
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE: Final = "mnist-e2e"
RUN_ID_LABEL: Final = "mnist-e2e/run-id"
COMPONENT_LABEL: Final = "app.kubernetes.io/component"
# GCS label keys allow no '/' or '.', so buckets carry the same labels under these keys.
GCS_MANAGED_BY_LABEL: Final = "managed-by"
GCS_RUN_ID_LABEL: Final = "mnist-e2e-run-id"

# Server-side apply's owner of the fields the project sets.
FIELD_MANAGER: Final = "mnist-e2e"

# (connect, read) seconds on every API call: the client's default is to wait forever.
REQUEST_TIMEOUT: Final = (10.0, 60.0)

# Kubeflow Pipelines standalone runs every step pod here, as this service account.
PIPELINE_NAMESPACE: Final = "kubeflow"
PIPELINE_SERVICE_ACCOUNT: Final = "pipeline-runner"
KFP_API_SERVICE: Final = "ml-pipeline"
# The Kubeflow Pipelines release the project is proven on: the air-gapped build makes it
# (ci/airgap/pins.py), the kind platform installs it by default, ci.validate checks the IR
# against its protos. Here, at the bottom, so all three read the one constant.
KFP_VERSION: Final = "2.17.0"
KFP_API_PORT: Final = 8888
# KFP's database on the air-gapped kind cluster: its MySQL claim is bound to a
# PersistentVolume (hostPath) on this node directory (ci/airgap/kfp_standalone.py), which the kind platform makes before
# it installs KFP (fixtures/platforms/kind.py), owned by the user KFP's mysql Deployment runs
# as, so a restarted database pod finds every run and experiment where the last one left them.
KFP_DB_NODE_DIR: Final = "/var/local/mnist-e2e-kfp/mysql"
KFP_DB_UID: Final = 999
# The pipeline's steps (its KFP tasks' display names), in the order they run: the pipeline
# names its tasks so, the harness reads a run's progress by them, ci.validate checks the IR.
TRAIN_STEP: Final = "train"
SERVE_STEP: Final = "serve"
WEB_UI_STEP: Final = "web-ui"
PIPELINE_STEPS: Final = (TRAIN_STEP, SERVE_STEP, WEB_UI_STEP)
# Labels and annotations KFP and Argo put on a run's pods.
KFP_RUN_LABEL: Final = "pipeline/runid"
WORKFLOW_LABEL: Final = "workflows.argoproj.io/workflow"
# Argo's path of the workflow node a pod runs, e.g. "<wf>(0).root(0).train(0).executor(0)".
NODE_NAME_ANNOTATION: Final = "workflows.argoproj.io/node-name"


def run_labels(run_id: str) -> dict[str, str]:
    """The labels every Kubernetes object of *run_id* carries."""
    return {MANAGED_BY_LABEL: MANAGED_BY_VALUE, RUN_ID_LABEL: run_id}


def label_selector(labels: Mapping[str, str]) -> str:
    """``k=v,k2=v2``: the API's label selector syntax, in a stable order."""
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


MANAGED_SELECTOR: Final = label_selector({MANAGED_BY_LABEL: MANAGED_BY_VALUE})
