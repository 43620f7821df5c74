"""The two deploy steps, each in the order a person would do it by hand.

serve: check the export has a version → apply TF Serving's objects → wait for the rollout
→ a real gRPC prediction. web-ui: apply the web UI's objects → wait → ``GET /readyz``. One
deadline covers a whole step; every failure names its cause: kubekit's typed errors for the
API (``Forbidden``, ``NotFound``, :class:`~pipeline.deploy.rollout_watch.RolloutFailed`, …),
:class:`~pipeline.deploy.errors.DeployError` for the rest. Progress goes to the
``mnist_e2e.deploy`` logger, one line per step taken.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from kubernetes.client import ApiClient

from kubekit import objects as kinds
from model.contract import GRPC_PORT
from pipeline.deploy import probe, render
from pipeline.deploy.errors import DeployError
from pipeline.deploy.rollout import RolloutStatus
from pipeline.deploy.rollout_watch import wait_for_rollout

log = logging.getLogger("mnist_e2e.deploy")

WEB_UI_SERVICE_PORT = 80


@dataclass(frozen=True)
class ServeSettings:
    """What the serve step deploys, and how long it may take."""

    overlay: str
    namespace: str
    run_id: str
    model_base_path: str
    pvc_name: str = render.PVC_NAME
    image: str = render.TF_SERVING_IMAGE
    gcp_service_account: str = ""
    gcp_secret: str = ""
    # A GCS emulator the model server reads from instead of GCS (the GKE rehearsal): the serve
    # step's own STORAGE_EMULATOR_HOST, handed on.
    storage_emulator_host: str = ""
    timeout_seconds: float = 600.0
    # Check the export before deploying (the step must see it: PVC mounted, or GCS access).
    preflight: bool = True
    # Where to send the final prediction; None: the Service's in-cluster address.
    probe_target: str | None = None


@dataclass(frozen=True)
class WebUiSettings:
    """What the web-ui step deploys, and how long it may take."""

    overlay: str
    namespace: str
    run_id: str
    image: str
    model_server: str
    service_type: str = "ClusterIP"
    timeout_seconds: float = 600.0
    # Where to ask /readyz; None: the Service's in-cluster URL.
    probe_url: str | None = None


def serving_address(namespace: str) -> str:
    """TF Serving's gRPC address inside the cluster (what the web UI is configured with)."""
    return f"{render.SERVING_NAME}.{namespace}.svc:{GRPC_PORT}"


def web_ui_url(namespace: str) -> str:
    """The web UI's URL inside the cluster."""
    return f"http://{render.WEB_UI_NAME}.{namespace}.svc:{WEB_UI_SERVICE_PORT}"


def check_export(model_base_path: str) -> list[int]:
    """The SavedModel versions under *model_base_path*; DeployError if there are none.

    TF Serving would start anyway and wait for a version forever; saying so now is kinder.
    """
    from model import versions  # imports google-cloud-storage, needed only here

    try:
        found = versions.versions(versions.existing(model_base_path))
    except Exception as exc:  # any storage error: say where we looked
        raise DeployError(f"cannot list the export {model_base_path}: {exc}") from exc
    if not found:
        raise DeployError(
            f"no model version under {model_base_path} (expected <version>/saved_model.pb):"
            " did the train step export there, and is the PVC mounted at /mnt in this step?"
        )
    return found


def apply_all(client: ApiClient, bodies: list[render.Obj], deadline: float) -> None:
    """Server-side apply each object in order (kubekit retries what is transient)."""
    for body in bodies:
        target = kinds.of(client, body)
        target.apply(body, deadline=deadline)
        log.info("applied %s", target)


def roll_out(
    client: ApiClient,
    bodies: list[render.Obj],
    namespace: str,
    deployment: str,
    deadline: float,
    *,
    clock: Callable[[], float],
) -> RolloutStatus:
    """Apply *bodies*, then wait for *deployment*'s rollout until *deadline* (a *clock* value).

    Raises RolloutFailed (RolloutTimeout at the deadline) with the cause.
    """
    apply_all(client, bodies, deadline)
    status = wait_for_rollout(client, namespace, deployment, timeout=deadline - clock())
    log.info("%s", status.message)
    return status


def serve(
    settings: ServeSettings,
    client: ApiClient,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Deploy TF Serving for the run and wait until it predicts; its in-cluster address."""
    deadline = clock() + settings.timeout_seconds
    bodies = render.serving_objects(
        settings.overlay,
        namespace=settings.namespace,
        run_id=settings.run_id,
        model_base_path=settings.model_base_path,
        image=settings.image,
        pvc_name=settings.pvc_name,
        gcp_service_account=settings.gcp_service_account,
        gcp_secret=settings.gcp_secret,
        storage_emulator_host=settings.storage_emulator_host,
    )
    if settings.preflight:
        found = check_export(settings.model_base_path)
        log.info(
            "export %s has versions %s; serving %s", settings.model_base_path, found, max(found)
        )
    roll_out(client, bodies, settings.namespace, render.SERVING_NAME, deadline, clock=clock)
    address = serving_address(settings.namespace)
    version = probe.wait_for_prediction(
        settings.probe_target or address, timeout=deadline - clock(), clock=clock
    )
    log.info("TF Serving at %s predicts with model version %s", address, version)
    return address


def web_ui(
    settings: WebUiSettings,
    client: ApiClient,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Deploy the web UI for the run and wait until it is ready; its in-cluster URL."""
    deadline = clock() + settings.timeout_seconds
    bodies = render.web_ui_objects(
        settings.overlay,
        namespace=settings.namespace,
        run_id=settings.run_id,
        image=settings.image,
        model_server=settings.model_server,
        service_type=settings.service_type,
    )
    roll_out(client, bodies, settings.namespace, render.WEB_UI_NAME, deadline, clock=clock)
    url = web_ui_url(settings.namespace)
    probe.wait_for_http(
        f"{settings.probe_url or url}/readyz", timeout=deadline - clock(), clock=clock
    )
    log.info("web UI at %s is ready", url)
    return url
