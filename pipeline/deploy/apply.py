"""Apply objects with server-side apply: one PATCH per object, create or update alike.

The ``kubernetes`` client's typed ``patch_*`` methods cannot send an apply patch, so this
goes through ``ApiClient.call_api`` with the apply content type. The path of each kind is a
fixed table (the kinds the manifests hold), so nothing is discovered at run time.
"""

from __future__ import annotations

from typing import Any, Final

from kubernetes.client import ApiClient

Obj = dict[str, Any]

FIELD_MANAGER: Final = "mnist-e2e"
APPLY_CONTENT_TYPE: Final = "application/apply-patch+yaml"
REQUEST_TIMEOUT: Final = 30.0

# (apiVersion, kind) → collection path below the namespace.
_COLLECTIONS: Final = {
    ("apps/v1", "Deployment"): "/apis/apps/v1/namespaces/{namespace}/deployments",
    ("v1", "Service"): "/api/v1/namespaces/{namespace}/services",
    ("v1", "ServiceAccount"): "/api/v1/namespaces/{namespace}/serviceaccounts",
    ("v1", "PersistentVolumeClaim"): "/api/v1/namespaces/{namespace}/persistentvolumeclaims",
    ("rbac.authorization.k8s.io/v1", "Role"): (
        "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles"
    ),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): (
        "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings"
    ),
    ("v1", "PersistentVolume"): "/api/v1/persistentvolumes",
    # the cluster tier runs step pods and makes KFP's step namespace where KFP is absent
    ("v1", "Pod"): "/api/v1/namespaces/{namespace}/pods",
    ("v1", "Namespace"): "/api/v1/namespaces",
}
_CLUSTER_SCOPED: Final = {("v1", "PersistentVolume"), ("v1", "Namespace")}


def resource_path(obj: Obj) -> str:
    """The API path of *obj*, e.g. /apis/apps/v1/namespaces/ns/deployments/x."""
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key not in _COLLECTIONS:
        known = ", ".join(f"{k} ({v})" for v, k in _COLLECTIONS)
        raise ValueError(f"cannot apply {key[1]} of {key[0]}: only {known}")
    metadata = obj.get("metadata") or {}
    if key in _CLUSTER_SCOPED:
        if not metadata.get("name"):
            raise ValueError(f"{key[1]} needs metadata.name")
        return f"{_COLLECTIONS[key]}/{metadata['name']}"
    if not metadata.get("namespace") or not metadata.get("name"):
        raise ValueError(f"{key[1]} {metadata.get('name')!r} needs metadata.name and .namespace")
    return _COLLECTIONS[key].format(namespace=metadata["namespace"]) + f"/{metadata['name']}"


def apply(api_client: ApiClient, obj: Obj, field_manager: str = FIELD_MANAGER) -> Obj:
    """Server-side apply *obj*; return the object as the API server stored it.

    ``force`` takes over fields another manager set: the deploy steps own these objects, and
    a re-run must converge, not stop at a conflict.
    """
    return api_client.call_api(
        resource_path(obj),
        "PATCH",
        query_params=[("fieldManager", field_manager), ("force", "true")],
        header_params={"Content-Type": APPLY_CONTENT_TYPE, "Accept": "application/json"},
        body=obj,
        response_type="object",
        auth_settings=["BearerToken"],
        _return_http_data_only=True,
        _request_timeout=REQUEST_TIMEOUT,
    )
