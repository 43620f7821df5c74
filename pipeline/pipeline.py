"""The MNIST pipeline: train → serve → web-ui, for on-prem (PVC) or GCP (GCS), one function.

The platform is a compile-time choice. On-prem, the train and serve steps mount the model
PVC at /mnt (kfp-kubernetes ``mount_pvc``; serve reads it to check the export before
deploying). The steps run where KFP runs them (``kubeflow`` on KFP standalone) while TF
Serving runs in the ``namespace`` parameter's namespace, so the harness provides a PVC of
``pvc_name`` in both, over one volume (pipeline/deploy/render.py ``storage_objects``). On
GCP nothing is mounted: the export is ``gs://…``, reached by workload identity (the
pipeline's service account, and the tf-serving account annotated with
``gcp_service_account``), or, compiled with a ``gcp_secret``, with the key in that Secret.
"""

# No `from __future__ import annotations`: KFP reads the pipeline function's annotations as
# types, and string annotations would turn every parameter into an artifact.
import functools
from typing import Any, Final

from kfp import dsl, kubernetes
from kfp.dsl.base_component import BaseComponent
from kfp.dsl.graph_component import GraphComponent

from kubekit.constants import SERVE_STEP, TRAIN_STEP, WEB_UI_STEP
from model.contract import GS_SCHEME
from pipeline import components
from pipeline.deploy import render

PLATFORMS: Final = ("onprem", "gcp")
OVERLAY: Final = {"onprem": "kind", "gcp": "gke"}
# The image every step runs in; `python -m pipeline.compile --image` sets the real one.
DEFAULT_IMAGE: Final = "mnist-e2e:dev"
MOUNT_PATH: Final = render.MODEL_MOUNT
DEFAULT_EXPORT: Final = {"onprem": f"{MOUNT_PATH}/export", "gcp": ""}
EXPORT_PREFIX: Final = {"onprem": f"{MOUNT_PATH}/", "gcp": GS_SCHEME}
GCP_KEY_DIR: Final = render.GCP_CREDENTIALS_DIR

# What the train step may use: TensorFlow on CPU, the CNN's batch of 100 digits. A quarter
# core requested, no CPU limit: the step still trains on every idle core, and it schedules on
# a 2-core node whose control plane and KFP already request 1.5 cores, beside another run's
# model server and web UI (a whole core did not fit at all, half a core not beside a kept run).
TRAIN_RESOURCES: Final = {"cpu_request": "250m", "memory_request": "2Gi", "memory_limit": "4Gi"}


def build_pipeline(
    platform: str = "onprem",
    image: str = DEFAULT_IMAGE,
    gcp_secret: str = "",
    storage_emulator_host: str = "",
) -> GraphComponent:
    """The pipeline for *platform* (onprem or gcp), its steps running in *image*."""
    _check_options(platform, image, gcp_secret, storage_emulator_host)
    overlay = OVERLAY[platform]
    train_op = components.make_train(image)
    serve_op = components.make_serve(image, overlay, gcp_secret)
    web_ui_op = components.make_web_ui(image, overlay)

    @dsl.pipeline(name=f"mnist-e2e-{platform}", description=_description(platform))
    def mnist_pipeline(
        namespace: str,
        model_export_dir: str = DEFAULT_EXPORT[platform],
        train_steps: int = 200,
        learning_rate: float = 0.01,
        batch_size: int = 100,
        model_type: str = "cnn",
        data_dir: str = "",
        pvc_name: str = render.PVC_NAME,
        run_id: str = "",
        image: str = image,
        serving_image: str = render.TF_SERVING_IMAGE,
        service_type: str = "ClusterIP",
        gcp_service_account: str = "",
        deploy_timeout_seconds: int = 600,
    ) -> None:
        """Train → serve → web-ui in *namespace*.

        namespace: where TF Serving and the web UI are deployed (RBAC must allow it).
        model_export_dir: on-prem a path under /mnt (the PVC), on GCP gs://BUCKET/PREFIX.
        data_dir: MNIST IDX files (downloaded there if missing); "" = the image's sample.
        pvc_name: the model PVC (on-prem only), in KFP's namespace and in *namespace*.
        run_id: value of the mnist-e2e/run-id label; "" = the namespace.
        image: the web UI's image (the steps' own image is fixed when compiling).
        gcp_service_account: Google account TF Serving reads GCS as (GCP, workload identity).
        """
        trained = _train_task(
            train_op, platform, model_export_dir=model_export_dir, train_steps=train_steps,
            learning_rate=learning_rate, batch_size=batch_size, model_type=model_type,
            data_dir=data_dir,
        )  # fmt: skip
        deploy = functools.partial(_deploy_task, namespace, run_id, deploy_timeout_seconds)
        served = deploy(
            serve_op, SERVE_STEP, model_base_path=trained.outputs["export_dir"],
            pvc_name=pvc_name, serving_image=serving_image, gcp_service_account=gcp_service_account,
        )  # fmt: skip
        ui = deploy(
            web_ui_op, WEB_UI_STEP, image=image, model_server=served.outputs["model_server"],
            service_type=service_type,
        )  # fmt: skip
        _never_cached((trained, served, ui))
        _give_storage((trained, served), platform, pvc_name, gcp_secret, storage_emulator_host)

    return mnist_pipeline


# The task helpers below run while KFP compiles mnist_pipeline: the values they take are the
# pipeline's parameters as KFP's placeholders, and the tasks they make are the pipeline's, in
# the order they are called.


def _train_task(train_op: BaseComponent, platform: str, **inputs: Any) -> dsl.PipelineTask:
    """The train step: its *inputs*, the export under *platform*'s prefix, on the resources
    it asks."""
    trained = train_op(**inputs, export_dir_prefix=EXPORT_PREFIX[platform])
    trained.set_display_name(TRAIN_STEP)
    _request_train_resources(trained)
    return trained


def _deploy_task(
    namespace: str,
    run_id: str,
    timeout_seconds: int,
    op: BaseComponent,
    display_name: str,
    **inputs: Any,
) -> dsl.PipelineTask:
    """A deploy step (serve or web-ui): *op* deploying into *namespace* with the run's label,
    within *timeout_seconds*, its own *inputs* besides."""
    # Data dependencies order the steps: serve's inputs hold the export dir train wrote,
    # web-ui's the address serve deployed.
    task = op(namespace=namespace, run_id=run_id, timeout_seconds=timeout_seconds, **inputs)
    task.set_display_name(display_name)
    return task


def _never_cached(tasks: tuple[dsl.PipelineTask, ...]) -> None:
    # Every run must really train and deploy: a cached step would skip both.
    for task in tasks:
        task.set_caching_options(False)


def _description(platform: str) -> str:
    where = "model on a PVC" if platform == "onprem" else "model in GCS"
    return f"Train an MNIST model, serve it with TF Serving, and deploy the web UI ({where})."


def _check_options(platform: str, image: str, gcp_secret: str, storage_emulator_host: str) -> None:
    """ValueError naming the first option :func:`build_pipeline` cannot take."""
    if platform not in PLATFORMS:
        raise ValueError(f"platform {platform!r} is not one of {', '.join(PLATFORMS)}")
    render.check_image(image)
    if gcp_secret and platform != "gcp":
        raise ValueError("gcp_secret is for --platform gcp; on-prem the model is on a PVC")
    if storage_emulator_host and platform != "gcp":
        raise ValueError(
            "storage_emulator_host is for --platform gcp (a GCS emulator in place of GCS);"
            " on-prem the model is on a PVC"
        )


def _request_train_resources(trained: dsl.PipelineTask) -> None:
    trained.set_cpu_request(TRAIN_RESOURCES["cpu_request"])
    trained.set_memory_request(TRAIN_RESOURCES["memory_request"])
    trained.set_memory_limit(TRAIN_RESOURCES["memory_limit"])


def _give_storage(
    tasks: tuple[dsl.PipelineTask, ...],
    platform: str,
    pvc_name: Any,
    gcp_secret: str,
    storage_emulator_host: str,
) -> None:
    """The model's storage for the steps that read or write it (train, serve): the PVC
    on-prem (*pvc_name*, the pipeline's parameter), GCS on GCP (with a key file from
    *gcp_secret* if given; at the emulator of the GKE rehearsal if given)."""
    if platform == "onprem":
        for task in tasks:
            kubernetes.mount_pvc(task, pvc_name=pvc_name, mount_path=MOUNT_PATH)
    elif gcp_secret:
        for task in tasks:
            kubernetes.use_secret_as_volume(task, secret_name=gcp_secret, mount_path=GCP_KEY_DIR)
            task.set_env_variable("GOOGLE_APPLICATION_CREDENTIALS", f"{GCP_KEY_DIR}/key.json")
    if storage_emulator_host:
        # The GKE rehearsal: train writes gs:// there; serve checks the export there and
        # hands the same host to the model server it deploys.
        for task in tasks:
            task.set_env_variable(render.STORAGE_EMULATOR_ENV, storage_emulator_host)


# The on-prem pipeline with the default image, for `from pipeline.pipeline import mnist_pipeline`.
mnist_pipeline: Final = build_pipeline()
