"""Kubernetes objects named after their kinds, with kubectl's verbs.

    Deployment(client, "tf-serving", "ns").apply(body)
    Namespace(client, run_id).delete_and_wait(timeout=300)
    Pod.list(client, "kubeflow", label_selector="pipeline/runid=…")
    Pod(client, name, "kubeflow").logs(container="main", tail_lines=200)

Every call carries the request timeout and goes through :func:`kubekit.retry.call` with a
description naming the object, so transient errors are retried and the rest come out typed
(``NotFound``, ``Conflict``, ``Forbidden``, …). Reads return the client's typed models;
``apply`` and ``create`` return the object as the API server stored it, as a dict. The kinds
are the ones the project creates or reads; nothing is discovered at run time.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Final

from kubekit import retry
from kubekit.constants import FIELD_MANAGER, REQUEST_TIMEOUT
from kubekit.exceptions import NotFound
from kubekit.wait import WAKE_EVERY_SECONDS, Decision, watch_until

if TYPE_CHECKING:
    from kubernetes import client as k8s

Body = dict[str, Any]
APPLY_CONTENT_TYPE: Final = "application/apply-patch+yaml"
JSON_PATCH_CONTENT_TYPE: Final = "application/json-patch+json"


class KubeObject:
    """One object of a kind, by name (and namespace, for namespaced kinds)."""

    api_version: ClassVar[str]
    kind: ClassVar[str]
    plural: ClassVar[str]
    namespaced: ClassVar[bool] = True
    # The generated client's API class, by name: the kubernetes package (~0.5 s to import) is
    # imported at the first call, not with this module, which the harness's plugin imports in
    # local runs too (through the platforms' option rules) that never call a cluster.
    api_name: ClassVar[str] = "CoreV1Api"
    # The generated client's name for the kind: "pod" → read_namespaced_pod, list_pod_for_…
    method: ClassVar[str]
    # Delete dependents first, so "deleted" means their pods are gone too.
    propagation: ClassVar[str | None] = "Foreground"

    def __init__(self, client: k8s.ApiClient, name: str, namespace: str | None = None) -> None:
        if not name:
            raise ValueError(f"a {self.kind} needs a name")
        if self.namespaced and not namespace:
            raise ValueError(f"{self.kind} {name!r} needs a namespace")
        self.client = client
        self.name = name
        self.namespace = namespace if self.namespaced else None

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"

    def __repr__(self) -> str:
        return f"<{self}>"

    # -- paths and raw requests ---------------------------------------------------------------

    @classmethod
    def collection_path(cls, namespace: str | None = None) -> str:
        """The API path of the kind's collection, e.g. /apis/apps/v1/namespaces/ns/deployments."""
        group = "/api/v1" if cls.api_version == "v1" else f"/apis/{cls.api_version}"
        if cls.namespaced:
            if not namespace:
                raise ValueError(f"{cls.kind} is namespaced: a namespace is needed")
            return f"{group}/namespaces/{namespace}/{cls.plural}"
        return f"{group}/{cls.plural}"

    @property
    def path(self) -> str:
        """The object's API path."""
        return f"{self.collection_path(self.namespace)}/{self.name}"

    def _request(
        self,
        verb: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: builtins.list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
        deadline: float | None = None,
    ) -> Any:
        return retry.call(
            f"{verb} {self}",
            lambda: self.client.call_api(
                path,
                method,
                query_params=query or [],
                header_params={"Content-Type": content_type, "Accept": "application/json"},
                body=body,
                response_type="object",
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _request_timeout=REQUEST_TIMEOUT,
            ),
            deadline=deadline,
        )

    @classmethod
    def _api_of(cls, client: k8s.ApiClient) -> Any:
        from kubernetes import client as k8s

        return getattr(k8s, cls.api_name)(client)

    def _api(self) -> Any:
        return self._api_of(self.client)

    # -- verbs ------------------------------------------------------------------------------

    def apply(
        self, body: Body, *, field_manager: str = FIELD_MANAGER, deadline: float | None = None
    ) -> Body:
        """Server-side apply *body* (create or update alike).

        ``force`` takes over fields another manager set: the project owns these objects, and
        a re-run must converge, not stop at a conflict.
        """
        return self._request(
            "apply",
            "PATCH",
            self.path,
            body=body,
            query=[("fieldManager", field_manager), ("force", "true")],
            content_type=APPLY_CONTENT_TYPE,
            deadline=deadline,
        )

    def patch(self, operations: builtins.list[Body], *, deadline: float | None = None) -> Body:
        """Apply JSON-patch *operations* (``kubectl patch --type=json``): for an edit that
        apply cannot express, like removing a field another manager owns."""
        return self._request(
            "patch",
            "PATCH",
            self.path,
            body=operations,
            content_type=JSON_PATCH_CONTENT_TYPE,
            deadline=deadline,
        )

    def create(self, body: Body, *, deadline: float | None = None) -> Body:
        """Create the object from *body*; ``Conflict`` when one of that name exists."""
        return self._request(
            "create", "POST", self.collection_path(self.namespace), body=body, deadline=deadline
        )

    def read(self, *, deadline: float | None = None) -> Any:
        """The object as the client's typed model; ``NotFound`` when it does not exist."""
        api = self._api()
        if self.namespaced:
            read = getattr(api, f"read_namespaced_{self.method}")
            action = partial(read, self.name, self.namespace, _request_timeout=REQUEST_TIMEOUT)
        else:
            read = getattr(api, f"read_{self.method}")
            action = partial(read, self.name, _request_timeout=REQUEST_TIMEOUT)
        return retry.call(f"read {self}", action, deadline=deadline)

    def exists(self) -> bool:
        """Whether the object exists now (asked, not assumed)."""
        try:
            self.read()
        except NotFound:
            return False
        return True

    def delete(self, *, deadline: float | None = None) -> bool:
        """Ask for the object's deletion; False when it was already gone."""
        body = {"propagationPolicy": self.propagation} if self.propagation else None
        try:
            self._request("delete", "DELETE", self.path, body=body, deadline=deadline)
        except NotFound:
            return False
        return True

    def wait_until(
        self,
        decide: Callable[[Any | None], Decision],
        *,
        timeout: float,
        description: str | None = None,
    ) -> Any | None:
        """Watch this object until ``decide(object or None when absent)`` is done."""
        found = type(self).watch_until(
            self.client,
            description or f"{self}",
            lambda objects: decide(objects[0] if objects else None),
            timeout=timeout,
            namespace=self.namespace,
            field_selector=f"metadata.name={self.name}",
        )
        return found[0] if found else None

    def delete_and_wait(self, *, timeout: float) -> bool:
        """Delete the object and watch until it is gone; False when it was already gone."""
        if not self.delete():
            return False
        self.wait_until(
            lambda found: Decision(done=found is None, status=f"{self} still there"),
            timeout=timeout,
            description=f"{self} to be deleted",
        )
        return True

    # -- the collection ---------------------------------------------------------------------

    @classmethod
    def _list_call(cls, client: k8s.ApiClient, namespace: str | None) -> Callable[..., Any]:
        api = cls._api_of(client)
        if not cls.namespaced:
            return getattr(api, f"list_{cls.method}")
        if namespace is None:
            return getattr(api, f"list_{cls.method}_for_all_namespaces")
        list_namespaced = getattr(api, f"list_namespaced_{cls.method}")

        def in_namespace(**kwargs: Any) -> Any:
            return list_namespaced(namespace, **kwargs)

        # kubernetes.watch reads the return type from the docstring to build typed models.
        in_namespace.__doc__ = list_namespaced.__doc__
        return in_namespace

    @classmethod
    def list(
        cls,
        client: k8s.ApiClient,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
    ) -> builtins.list[Any]:
        """The objects of the kind (in *namespace*, or everywhere), as typed models."""
        call = cls._list_call(client, namespace)
        where = f" in {namespace}" if namespace else ""
        selected = f" ({label_selector})" if label_selector else ""
        return retry.call(
            f"list {cls.plural}{where}{selected}",
            lambda: call(
                label_selector=label_selector,
                field_selector=field_selector,
                _request_timeout=REQUEST_TIMEOUT,
            ),
        ).items

    @classmethod
    def watch_until(
        cls,
        client: k8s.ApiClient,
        description: str,
        decide: Callable[[builtins.list[Any]], Decision],
        *,
        timeout: float,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        fatal: Callable[[], str | None] = lambda: None,
        wake_every: float | None = None,
    ) -> builtins.list[Any]:
        """Watch the kind's objects until ``decide(objects)`` is done (:func:`watch_until`)."""
        kwargs: dict[str, Any] = {}
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        return watch_until(
            description,
            cls._list_call(client, namespace),
            decide,
            timeout=timeout,
            list_kwargs=kwargs,
            fatal=fatal,
            wake_every=WAKE_EVERY_SECONDS if wake_every is None else wake_every,
        )


class Namespace(KubeObject):
    api_version = "v1"
    kind = "Namespace"
    plural = "namespaces"
    method = "namespace"
    namespaced = False
    propagation = None  # the namespace controller empties it in its own order

    def phase(self) -> str | None:
        """Active or Terminating; None when the namespace does not exist."""
        try:
            found = self.read()
        except NotFound:
            return None
        return found.status.phase if found.status else "Unknown"


class Pod(KubeObject):
    api_version = "v1"
    kind = "Pod"
    plural = "pods"
    method = "pod"

    def logs(
        self, *, container: str | None = None, tail_lines: int | None = None, previous: bool = False
    ) -> str:
        """The container's log (the previous instance's with *previous*)."""
        options: dict[str, Any] = {"previous": previous}
        if container:
            options["container"] = container
        if tail_lines is not None:
            options["tail_lines"] = tail_lines
        return retry.call(
            f"read the log of {self}" + (f" container {container}" if container else ""),
            lambda: self._api().read_namespaced_pod_log(
                self.name, self.namespace, _request_timeout=REQUEST_TIMEOUT, **options
            ),
        )


class Service(KubeObject):
    api_version = "v1"
    kind = "Service"
    plural = "services"
    method = "service"


class ServiceAccount(KubeObject):
    api_version = "v1"
    kind = "ServiceAccount"
    plural = "serviceaccounts"
    method = "service_account"


class PersistentVolumeClaim(KubeObject):
    api_version = "v1"
    kind = "PersistentVolumeClaim"
    plural = "persistentvolumeclaims"
    method = "persistent_volume_claim"


class PersistentVolume(KubeObject):
    api_version = "v1"
    kind = "PersistentVolume"
    plural = "persistentvolumes"
    method = "persistent_volume"
    namespaced = False


class Event(KubeObject):
    api_version = "v1"
    kind = "Event"
    plural = "events"
    method = "event"


class Node(KubeObject):
    api_version = "v1"
    kind = "Node"
    plural = "nodes"
    method = "node"
    namespaced = False


class Deployment(KubeObject):
    api_version = "apps/v1"
    kind = "Deployment"
    plural = "deployments"
    method = "deployment"
    api_name = "AppsV1Api"


class ReplicaSet(KubeObject):
    api_version = "apps/v1"
    kind = "ReplicaSet"
    plural = "replicasets"
    method = "replica_set"
    api_name = "AppsV1Api"


class DaemonSet(KubeObject):
    api_version = "apps/v1"
    kind = "DaemonSet"
    plural = "daemonsets"
    method = "daemon_set"
    api_name = "AppsV1Api"


class Role(KubeObject):
    api_version = "rbac.authorization.k8s.io/v1"
    kind = "Role"
    plural = "roles"
    method = "role"
    api_name = "RbacAuthorizationV1Api"


class RoleBinding(KubeObject):
    api_version = "rbac.authorization.k8s.io/v1"
    kind = "RoleBinding"
    plural = "rolebindings"
    method = "role_binding"
    api_name = "RbacAuthorizationV1Api"


KINDS: Final[Mapping[tuple[str, str], type[KubeObject]]] = {
    (cls.api_version, cls.kind): cls
    for cls in (
        Namespace,
        Pod,
        Service,
        ServiceAccount,
        PersistentVolumeClaim,
        PersistentVolume,
        Event,
        Node,
        Deployment,
        ReplicaSet,
        DaemonSet,
        Role,
        RoleBinding,
    )
}


def kind_of(api_version: str, kind: str) -> type[KubeObject]:
    """The class of a kind; ValueError naming the kinds this toolkit knows."""
    try:
        return KINDS[(api_version, kind)]
    except KeyError:
        known = ", ".join(f"{k} ({v})" for v, k in KINDS)
        raise ValueError(
            f"{kind} of {api_version} is not a kind this toolkit knows: {known}"
        ) from None


def of(client: k8s.ApiClient, body: Mapping[str, Any]) -> KubeObject:
    """The object a manifest *body* describes (its kind, name and namespace)."""
    metadata = body.get("metadata") or {}
    cls = kind_of(str(body.get("apiVersion")), str(body.get("kind")))
    return cls(client, metadata.get("name") or "", metadata.get("namespace"))


def self_subject_can(
    client: k8s.ApiClient,
    verb: str,
    resource: str,
    *,
    namespace: str | None = None,
    group: str = "",
) -> bool:
    """Whether the client's identity may *verb* *resource* (a SelfSubjectAccessReview)."""
    from kubernetes import client as k8s

    review = k8s.V1SelfSubjectAccessReview(
        spec=k8s.V1SelfSubjectAccessReviewSpec(
            resource_attributes=k8s.V1ResourceAttributes(
                verb=verb, resource=resource, namespace=namespace, group=group
            )
        )
    )
    answer = retry.call(
        f"ask whether I may {verb} {resource}" + (f" in {namespace}" if namespace else ""),
        lambda: k8s.AuthorizationV1Api(client).create_self_subject_access_review(
            review, _request_timeout=REQUEST_TIMEOUT
        ),
    )
    return bool(answer.status.allowed)
