"""What a deploy step applies: the rendered overlay's objects, set up for one run.

``manifests/rendered/<overlay>.yaml`` is ``kubectl kustomize manifests/overlays/<overlay>``,
committed and kept current by ``python -m ci.validate.manifests --write`` (the image has no
kubectl). Kustomize owns the structure; this module only fills in what differs per run —
namespace, run id, images, model path — on deep copies, and checks every value first.
Pure: no cluster, no network.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

import yaml

from kubekit.constants import (
    COMPONENT_LABEL,
    PIPELINE_NAMESPACE,
    PIPELINE_SERVICE_ACCOUNT,
    RUN_ID_LABEL,
)

# The labels and KFP's step namespace and account are the project's, defined once in kubekit
# (kubekit.constants imports nothing else of kubekit, so this module stays pure).
from model.contract import UI_SERVERS_ENV

Obj = dict[str, Any]

OVERLAYS: Final = ("kind", "gke")
RENDERED_DIR: Final = Path(__file__).resolve().parents[2] / "manifests" / "rendered"

RUN_ID_PLACEHOLDER: Final = "run-id-placeholder"
GSA_ANNOTATION: Final = "iam.gke.io/gcp-service-account"

# The parts of the workload, by their component label.
PARTS: Final = {
    "serve": "model-server",
    "web-ui": "web-ui",
    "rbac": "pipeline-rbac",
    "storage": "model-storage",
}
SERVING_NAME: Final = "tf-serving"
WEB_UI_NAME: Final = "web-ui"
PVC_NAME: Final = "mnist-model"
# The pinned TF Serving image of manifests/base/tf-serving.yaml (a test keeps them equal).
TF_SERVING_IMAGE: Final = "tensorflow/serving:2.20.0"
# The project's own model server (serving/), which takes TF Serving's flags: what runs in
# the tf-serving Deployment when the image is not TF Serving's (no registry to pull it from).
STAND_IN_COMMAND: Final = ["python", "-m", "serving"]
MODEL_MOUNT: Final = "/mnt"
# kind: where the model volume's directories live on the node, and where KFP runs steps.
HOST_DIR: Final = "/var/local/mnist-e2e"
CLUSTER_SCOPED: Final = ("PersistentVolume",)
SERVICE_TYPES: Final = ("ClusterIP", "LoadBalancer", "NodePort")
GCP_CREDENTIALS_DIR: Final = "/var/secrets/google"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_IMAGE = re.compile(r"^[a-z0-9][A-Za-z0-9._/:@-]*[A-Za-z0-9]$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?:\d{1,5}$")
_GSA = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]@[a-z][-a-z0-9.]*\.iam\.gserviceaccount\.com$")


class RenderError(ValueError):
    """A per-run value cannot go into the manifests; the message names it and the fix."""


# What google-cloud-storage reads to talk to a GCS emulator instead of GCS (the GKE rehearsal).
STORAGE_EMULATOR_ENV: Final = "STORAGE_EMULATOR_HOST"


# -- loading ---------------------------------------------------------------------------------


def load_overlay(overlay: str, rendered_dir: Path = RENDERED_DIR) -> list[Obj]:
    """The objects of ``manifests/rendered/<overlay>.yaml``, in file order."""
    if overlay not in OVERLAYS:
        raise RenderError(f"overlay {overlay!r} is not one of {', '.join(OVERLAYS)}")
    path = rendered_dir / f"{overlay}.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RenderError(
            f"{path} is missing; run `python -m ci.validate.manifests --write` to render it"
        ) from exc
    return [doc for doc in yaml.safe_load_all(text) if doc]


def select(objects: Iterable[Obj], part: str) -> list[Obj]:
    """The objects of one part (serve, web-ui, rbac, storage), by their component label."""
    if part not in PARTS:
        raise RenderError(f"part {part!r} is not one of {', '.join(PARTS)}")
    return [o for o in objects if _labels(o).get(COMPONENT_LABEL) == PARTS[part]]


# -- checks of per-run values ----------------------------------------------------------------


def check_namespace(namespace: str) -> str:
    """*namespace*, if it is a valid DNS label (what Kubernetes requires of namespace names)."""
    if not _DNS_LABEL.match(namespace):
        raise RenderError(
            f"namespace {namespace!r} is not a DNS label (lowercase letters, digits and '-',"
            " at most 63, alphanumeric at both ends)"
        )
    return namespace


def check_run_id(run_id: str) -> str:
    """*run_id*, if it can be a label value (it becomes the mnist-e2e/run-id label)."""
    if not _LABEL_VALUE.match(run_id) or run_id == RUN_ID_PLACEHOLDER:
        raise RenderError(
            f"run id {run_id!r} cannot be a label value (letters, digits, '-', '_', '.',"
            " at most 63, alphanumeric at both ends)"
        )
    return run_id


def check_image(image: str, what: str = "image") -> str:
    """*image*, if it looks like an image reference with an explicit tag or digest."""
    last = image.rsplit("/", 1)[-1]
    if not _IMAGE.match(image) or (":" not in last and "@" not in last):
        raise RenderError(
            f"{what} {image!r} is not an image reference with a tag or digest"
            " (e.g. tensorflow/serving:2.20.0 or registry/mnist-e2e:<git sha>)"
        )
    if last.endswith(":latest"):
        raise RenderError(f"{what} {image!r} uses :latest; pin a tag or digest")
    return image


def check_model_base_path(overlay: str, path: str) -> str:
    """*path*, if TF Serving can read it on *overlay*: under the PVC mount, or gs://."""
    if overlay == "gke":
        if not re.match(r"^gs://[a-z0-9][-a-z0-9_.]{1,220}[a-z0-9](/.*)?$", path):
            raise RenderError(
                f"model base path {path!r} is not a gs://BUCKET/PREFIX URI; on gke TF Serving"
                " reads the export from GCS"
            )
        return path.rstrip("/")
    normalized = "/" + "/".join(p for p in path.split("/") if p)
    if (
        not path.startswith(MODEL_MOUNT + "/")
        or ".." in path.split("/")
        or normalized == MODEL_MOUNT
    ):
        raise RenderError(
            f"model base path {path!r} is not a directory under {MODEL_MOUNT}/, where the"
            " model PVC is mounted in the serving pod"
        )
    return normalized


def check_service_type(service_type: str) -> str:
    """*service_type*, if it is a Service type the web UI may use."""
    if service_type not in SERVICE_TYPES:
        raise RenderError(f"service type {service_type!r} is not one of {', '.join(SERVICE_TYPES)}")
    return service_type


def check_model_server(address: str) -> str:
    """*address*, if it is host:port (the web UI's MNIST_UI_MODEL_SERVERS entry)."""
    if not _HOST_PORT.match(address) or not 0 < int(address.rsplit(":", 1)[1]) < 65536:
        raise RenderError(f"model server {address!r} is not host:port")
    return address


def check_gcp_service_account(email: str) -> str:
    """*email*, if empty or a Google service account address."""
    if email and not _GSA.match(email):
        raise RenderError(
            f"GCP service account {email!r} is not NAME@PROJECT.iam.gserviceaccount.com"
        )
    return email


# -- per-run rendering -----------------------------------------------------------------------


def for_run(objects: Iterable[Obj], namespace: str, run_id: str) -> list[Obj]:
    """Deep copies of *objects* in *namespace*, labelled with *run_id* (pod templates too)."""
    check_namespace(namespace)
    check_run_id(run_id)
    result = []
    for obj in copy.deepcopy(list(objects)):
        if obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = namespace
        for metadata in _labelled_metadata(obj):
            metadata.setdefault("labels", {})[RUN_ID_LABEL] = run_id
        result.append(obj)
    _refuse_placeholders(result)
    return result


def serving_objects(
    overlay: str,
    *,
    namespace: str,
    run_id: str,
    model_base_path: str,
    image: str = TF_SERVING_IMAGE,
    pvc_name: str = PVC_NAME,
    gcp_service_account: str = "",
    gcp_secret: str = "",
    storage_emulator_host: str = "",
    rendered_dir: Path = RENDERED_DIR,
) -> list[Obj]:
    """TF Serving's Deployment and Service (and, on gke, its service account) for one run.

    On kind the pod mounts PVC *pvc_name* at /mnt; on gke it reads gs:// as the tf-serving
    service account (annotated with *gcp_service_account* for workload identity), or, if
    *gcp_secret* names a Secret with ``key.json``, with that key instead.
    """
    path = check_model_base_path(overlay, model_base_path)
    check_image(image, "serving image")
    check_gcp_service_account(gcp_service_account)
    objects = for_run(select(load_overlay(overlay, rendered_dir), "serve"), namespace, run_id)
    container = _container(_only(objects, "Deployment", SERVING_NAME), SERVING_NAME)
    container["image"] = image
    container["command"] = serving_command(image, container["command"])
    container["args"] = _set_flag(container["args"], "--model_base_path", path)
    pod = _only(objects, "Deployment", SERVING_NAME)["spec"]["template"]["spec"]
    if overlay == "kind":
        if storage_emulator_host:
            raise RenderError(
                f"a GCS emulator ({storage_emulator_host}) is for the gke overlay, not"
                f" {overlay!r}: on kind the model is on a PVC"
            )
        _check_dns_label(pvc_name, "PVC name")
        _volume(pod, "model")["persistentVolumeClaim"]["claimName"] = pvc_name
    else:
        annotations = _only(objects, "ServiceAccount", SERVING_NAME)["metadata"]["annotations"]
        if gcp_service_account:
            annotations[GSA_ANNOTATION] = gcp_service_account
        else:  # no workload identity: the node's identity, or the key below
            del annotations[GSA_ANNOTATION]
        if gcp_secret:
            _check_dns_label(gcp_secret, "GCP secret name")
            _mount_gcp_key(pod, container, gcp_secret)
        if storage_emulator_host:  # the GKE rehearsal: the export is in a GCS emulator
            container.setdefault("env", []).append(
                {"name": STORAGE_EMULATOR_ENV, "value": storage_emulator_host}
            )
    return objects


def serving_command(image: str, tf_serving_command: list[str]) -> list[str]:
    """The model server's command: TF Serving's binary in TF Serving's image (from any
    registry or mirror), else the stand-in's, which takes the same flags."""
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    repository = f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]
    if repository == "tensorflow/serving" or repository.endswith("/tensorflow/serving"):
        return tf_serving_command
    return list(STAND_IN_COMMAND)


def web_ui_objects(
    overlay: str,
    *,
    namespace: str,
    run_id: str,
    image: str,
    model_server: str,
    service_type: str = "ClusterIP",
    rendered_dir: Path = RENDERED_DIR,
) -> list[Obj]:
    """The web UI's Deployment and Service for one run, talking to *model_server*."""
    check_image(image)
    check_model_server(model_server)
    check_service_type(service_type)
    objects = for_run(select(load_overlay(overlay, rendered_dir), "web-ui"), namespace, run_id)
    container = _container(_only(objects, "Deployment", WEB_UI_NAME), WEB_UI_NAME)
    container["image"] = image
    _env(container, UI_SERVERS_ENV)["value"] = f"default={model_server}"
    _only(objects, "Service", WEB_UI_NAME)["spec"]["type"] = service_type
    return objects


def rbac_objects(
    overlay: str,
    *,
    namespace: str,
    run_id: str,
    runner_service_account: str = PIPELINE_SERVICE_ACCOUNT,
    runner_namespace: str = PIPELINE_NAMESPACE,
    rendered_dir: Path = RENDERED_DIR,
) -> list[Obj]:
    """The Role and RoleBinding that let the pipeline's runner account deploy into *namespace*.

    KFP standalone runs steps as ``kubeflow/pipeline-runner``; multi-user Kubeflow runs them
    in the profile namespace as ``default-editor``: pass those instead.
    """
    _check_dns_label(runner_service_account, "runner service account")
    check_namespace(runner_namespace)
    objects = for_run(select(load_overlay(overlay, rendered_dir), "rbac"), namespace, run_id)
    binding = next(o for o in objects if o["kind"] == "RoleBinding")
    binding["subjects"] = [
        {"kind": "ServiceAccount", "name": runner_service_account, "namespace": runner_namespace}
    ]
    return objects


def storage_objects(
    overlay: str,
    *,
    namespace: str,
    run_id: str,
    pvc_name: str = PVC_NAME,
    pipeline_namespace: str = PIPELINE_NAMESPACE,
    host_dir: str = HOST_DIR,
    node_name: str | None = None,
    size: str | None = None,
    rendered_dir: Path = RENDERED_DIR,
) -> list[Obj]:
    """The model volume for one run on kind: a PVC *pvc_name* where the pipeline's steps run
    and one where TF Serving runs, each bound to its own PV over one node directory.

    KFP standalone runs steps in *pipeline_namespace* and a PVC is namespaced, so the train
    step and TF Serving cannot share one claim; two static PVs over the same hostPath,
    ``<host_dir>/<namespace>``, share the data instead. That directory must exist on the
    node, writable by uid 10001, before the pipeline runs. With *node_name*, both PVs (so
    all pods using them) are pinned to that node; a one-node cluster needs no pinning. When
    the steps run in *namespace* itself (multi-user Kubeflow), one PV and PVC suffice.
    """
    _check_storage_options(overlay, pvc_name, pipeline_namespace, host_dir, node_name, size)
    template = for_run(select(load_overlay(overlay, rendered_dir), "storage"), namespace, run_id)
    volume_template = _only(template, "PersistentVolume", PVC_NAME)
    claim_template = _only(template, "PersistentVolumeClaim", PVC_NAME)
    # PV names are cluster-wide: made unique by the run's namespace, kept short by hashing it.
    suffix = hashlib.sha256(namespace.encode()).hexdigest()[:8]
    sides = {"serving": namespace, "pipeline": pipeline_namespace}
    if pipeline_namespace == namespace:
        sides = {"serving": namespace}
    objects = []
    for side, claim_namespace in sides.items():
        volume, claim = copy.deepcopy(volume_template), copy.deepcopy(claim_template)
        volume["metadata"]["name"] = f"{pvc_name}-{suffix}-{side}"
        volume["spec"]["claimRef"] = {"namespace": claim_namespace, "name": pvc_name}
        volume["spec"]["hostPath"]["path"] = f"{host_dir.rstrip('/')}/{namespace}"
        if node_name is not None:
            volume["spec"]["nodeAffinity"] = _pinned_to(node_name)
        claim["metadata"].update(name=pvc_name, namespace=claim_namespace)
        claim["spec"]["volumeName"] = volume["metadata"]["name"]
        if size is not None:
            volume["spec"]["capacity"]["storage"] = size
            claim["spec"]["resources"]["requests"]["storage"] = size
        objects += [volume, claim]
    return objects


def _check_storage_options(
    overlay: str,
    pvc_name: str,
    pipeline_namespace: str,
    host_dir: str,
    node_name: str | None,
    size: str | None,
) -> None:
    """RenderError naming the first of :func:`storage_objects`' options that cannot be."""
    if overlay != "kind":
        raise RenderError(f"overlay {overlay!r} has no model volume; the export goes to gs://")
    _check_dns_label(pvc_name, "PVC name")
    check_namespace(pipeline_namespace)
    if not re.match(r"^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$", host_dir) or ".." in host_dir.split("/"):
        raise RenderError(f"host dir {host_dir!r} is not an absolute path without '..'")
    if size is not None and not re.match(r"^[1-9]\d*(Mi|Gi|Ti)$", size):
        raise RenderError(f"PVC size {size!r} is not like 512Mi, 1Gi or 2Ti")
    if node_name is not None:
        _check_dns_label(node_name, "node name")


def _pinned_to(node_name: str) -> Obj:
    """A PersistentVolume's nodeAffinity: only on the node *node_name*."""
    term = {"key": "kubernetes.io/hostname", "operator": "In", "values": [node_name]}
    return {"required": {"nodeSelectorTerms": [{"matchExpressions": [term]}]}}


# -- helpers ---------------------------------------------------------------------------------


def _labels(obj: Obj) -> dict[str, str]:
    return obj.get("metadata", {}).get("labels") or {}


def _labelled_metadata(obj: Obj) -> list[dict[str, Any]]:
    """The object's metadata and, for workloads, its pod template's."""
    found = [obj["metadata"]]
    template = obj.get("spec", {}).get("template") if isinstance(obj.get("spec"), dict) else None
    if isinstance(template, dict):
        found.append(template.setdefault("metadata", {}))
    return found


def _refuse_placeholders(objects: list[Obj]) -> None:
    """Raise if the run-id placeholder survives anywhere (e.g. a template nested deeper)."""
    for obj in objects:
        where = _find_value(obj, RUN_ID_PLACEHOLDER, "")
        if where is not None:
            raise RenderError(
                f"{_name(obj)} still carries the run-id placeholder at {where or '(top)'};"
                " render.for_run does not know where to set the run id in this object"
            )


def _find_value(node: Any, value: str, path: str) -> str | None:
    """The dotted path of the first occurrence of *value* in *node*, or None."""
    if node == value:
        return path
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        found = _find_value(child, value, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def _name(obj: Obj) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def _only(objects: list[Obj], kind: str, name: str) -> Obj:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    if len(matches) != 1:
        raise RenderError(
            f"expected one {kind}/{name} in the rendered manifests, found {len(matches)};"
            " re-render them with `python -m ci.validate.manifests --write`"
        )
    return matches[0]


def _find(items: list[Obj], key: str, value: str, what: Callable[[], str]) -> Obj:
    for item in items:
        if item.get(key) == value:
            return item
    raise RenderError(f"{what()} has no {key} {value!r} in the rendered manifests")


def _container(deployment: Obj, name: str) -> Obj:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return _find(containers, "name", name, lambda: _name(deployment))


def _volume(pod: Obj, name: str) -> Obj:
    return _find(pod.get("volumes", []), "name", name, lambda: "the pod template")


def _env(container: Obj, name: str) -> Obj:
    return _find(container.get("env", []), "name", name, lambda: f"container {container['name']}")


def _set_flag(args: list[str], flag: str, value: str) -> list[str]:
    """*args* with ``flag=value`` in place of the existing ``flag=…``."""
    hits = [i for i, arg in enumerate(args) if arg.startswith(flag + "=")]
    if len(hits) != 1:
        raise RenderError(f"expected one {flag}=… argument in the rendered manifests: {args}")
    return [f"{flag}={value}" if i == hits[0] else arg for i, arg in enumerate(args)]


def _mount_gcp_key(pod: Obj, container: Obj, secret: str) -> None:
    pod.setdefault("volumes", []).append(
        {"name": "gcp-key", "secret": {"secretName": secret, "defaultMode": 0o440}}
    )
    container.setdefault("volumeMounts", []).append(
        {"name": "gcp-key", "mountPath": GCP_CREDENTIALS_DIR, "readOnly": True}
    )
    container.setdefault("env", []).append(
        {"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": f"{GCP_CREDENTIALS_DIR}/key.json"}
    )


def _check_dns_label(value: str, what: str) -> None:
    if not _DNS_LABEL.match(value):
        raise RenderError(f"{what} {value!r} is not a DNS label (lowercase letters, digits, '-')")
