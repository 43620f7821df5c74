"""The pipeline's three components: train (a lightweight Python component), serve and web-ui
(container components running ``python -m pipeline.deploy``), all in the project image.

The image is a compile-time choice, so each component is made by a factory taking it. This
module deliberately has no ``from __future__ import annotations``: KFP reads the component
signatures' annotations (``Output[Metrics]``, ``dsl.OutputPath(str)``) as objects.
"""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Metrics, Output
from kfp.dsl.base_component import BaseComponent

DEPLOY_COMMAND = ["python", "-m", "pipeline.deploy"]


def train(
    model_export_dir: str,
    train_steps: int,
    learning_rate: float,
    batch_size: int,
    model_type: str,
    data_dir: str,
    export_dir_prefix: str,
    metrics: Output[Metrics],
) -> NamedTuple("TrainOutputs", [("export_dir", str), ("accuracy", float)]):  # type: ignore[valid-type]  # KFP's DSL: the compiler reads this annotation, not mypy
    """Train the MNIST model (python -m model.train) and export it; record its test accuracy.

    *export_dir_prefix* ("/mnt/" on-prem, "gs://" on GCP, "" locally) rejects an export dir
    that would vanish with the pod before any training time is spent. *data_dir* "" trains
    on the sample shipped in the image.
    """
    # The body runs in the step's container (or a kfp.local subprocess) from its own source,
    # so everything it needs is imported here.
    import json
    import tempfile
    from collections import namedtuple
    from pathlib import Path

    from model import train as training_program

    if not model_export_dir.startswith(export_dir_prefix):
        raise ValueError(
            f"model_export_dir {model_export_dir!r} does not start with {export_dir_prefix!r};"
            " on-prem it must be under the PVC mount /mnt/, on GCP a gs:// URI"
        )
    with tempfile.TemporaryDirectory(prefix="mnist-train-") as scratch:
        metrics_path = Path(scratch, "metrics.json")
        argv = [
            "--tf-export-dir", model_export_dir,
            "--tf-model-type", model_type,
            "--tf-train-steps", str(train_steps),
            "--tf-batch-size", str(batch_size),
            "--tf-learning-rate", repr(learning_rate),
            "--tf-metrics-path", str(metrics_path),
        ]  # fmt: skip
        if data_dir:
            argv += ["--tf-data-dir", data_dir]
        status: int | str | None
        try:
            status = training_program.main(argv)
        except SystemExit as exc:  # argparse rejects a bad flag value by exiting
            status = exc.code
        if status != 0:
            raise RuntimeError(f"python -m model.train {' '.join(argv)} exited with {status}")
        result = json.loads(metrics_path.read_text(encoding="utf-8"))

    metrics.log_metric("accuracy", float(result["accuracy"]))
    metrics.log_metric("steps_per_second", float(result["steps_per_second"]))
    metrics.log_metric("model_version", int(result["version"]))
    TrainOutputs = namedtuple("TrainOutputs", ["export_dir", "accuracy"])
    return TrainOutputs(model_export_dir, float(result["accuracy"]))


def make_train(image: str) -> BaseComponent:
    """The train component, running in *image* (which must contain kfp and model/)."""
    # install_kfp_package=False: the image already has the pinned kfp, and a non-root pod
    # could not pip-install it at run time anyway.
    return dsl.component(train, base_image=image, install_kfp_package=False)


def make_serve(image: str, overlay: str, gcp_secret: str = "") -> BaseComponent:
    """The serve component: deploy TF Serving with the *overlay*'s manifests, then predict."""

    @dsl.container_component
    def serve(
        namespace: str,
        run_id: str,
        model_base_path: str,
        pvc_name: str,
        serving_image: str,
        gcp_service_account: str,
        timeout_seconds: int,
        model_server: dsl.OutputPath(str),  # type: ignore[valid-type]  # KFP's DSL: the compiler reads this annotation, not mypy
    ) -> dsl.ContainerSpec:
        """Deploy TF Serving for the run, wait for its rollout and a real gRPC prediction."""
        return dsl.ContainerSpec(
            image=image,
            command=DEPLOY_COMMAND,
            args=[
                "serve",
                "--overlay", overlay,
                "--namespace", namespace,
                "--run-id", run_id,
                "--model-base-path", model_base_path,
                "--pvc-name", pvc_name,
                "--serving-image", serving_image,
                "--gcp-service-account", gcp_service_account,
                "--gcp-secret", gcp_secret,
                "--timeout", timeout_seconds,
                "--output", model_server,
            ],
        )  # fmt: skip

    return serve


def make_web_ui(image: str, overlay: str) -> BaseComponent:
    """The web-ui component: deploy the web UI with the *overlay*'s manifests, then /readyz."""
    # The step runs in the compile-time image; the web UI it deploys runs in the "image"
    # parameter's (by default the same).
    step_image = image

    @dsl.container_component
    def web_ui(
        namespace: str,
        run_id: str,
        image: str,
        model_server: str,
        service_type: str,
        timeout_seconds: int,
        url: dsl.OutputPath(str),  # type: ignore[valid-type]  # KFP's DSL: the compiler reads this annotation, not mypy
    ) -> dsl.ContainerSpec:
        """Deploy the web UI for the run, wait for its rollout and GET /readyz."""
        return dsl.ContainerSpec(
            image=step_image,
            command=DEPLOY_COMMAND,
            args=[
                "web-ui",
                "--overlay", overlay,
                "--namespace", namespace,
                "--run-id", run_id,
                "--image", image,
                "--model-server", model_server,
                "--service-type", service_type,
                "--timeout", timeout_seconds,
                "--output", url,
            ],
        )  # fmt: skip

    return web_ui
