"""API clients: from a kubeconfig context (the harness, outside the cluster) or from the pod's
service account (the deploy steps, inside it). Each client has its own configuration, so
clients for different contexts never affect each other."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kubekit.exceptions import ActionFailed

if TYPE_CHECKING:
    from kubernetes import client as k8s

# The kubernetes package (~0.5 s to import) is imported by the functions that make a client:
# reading a kubeconfig needs only YAML, and the harness's plugin imports this module (through
# every platform's option rules) in local runs too, which never make a client.


def kubeconfig_location() -> str:
    """Where the kubeconfig is read from now: ``$KUBECONFIG`` (may list several files) or
    ``~/.kube/config``. Read at call time, not import time, so tests can point elsewhere."""
    return os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())


def kubeconfig_files(location: str | None = None) -> list[Path]:
    """The existing files of a kubeconfig *location* (``a:b`` lists several, like kubectl)."""
    text = location or kubeconfig_location()
    return [
        Path(p).expanduser() for p in text.split(os.pathsep) if p and Path(p).expanduser().is_file()
    ]


def load_kubeconfig(location: str | None = None) -> dict[str, Any]:
    """The kubeconfig as one dict, files merged the way kubectl does (first one wins).

    Read as YAML rather than through the client's loader: that one rejects a kubeconfig
    without current-context, which ``kubectl --context`` accepts.
    """
    merged: dict[str, Any] = {"contexts": [], "users": [], "clusters": []}
    seen: dict[str, set[str]] = {key: set() for key in merged}
    for path in kubeconfig_files(location):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in merged:
            for entry in document.get(key) or []:
                if entry.get("name") not in seen[key]:
                    seen[key].add(entry.get("name"))
                    merged[key].append(entry)
    return merged


def from_kubeconfig(context: str | None, kubeconfig: str | None = None) -> k8s.ApiClient:
    """A client for *context* of *kubeconfig* (default: :func:`kubeconfig_location`)."""
    from kubernetes import config as k8s_config

    try:
        return k8s_config.new_client_from_config(
            config_file=kubeconfig or kubeconfig_location(), context=context, persist_config=False
        )
    except (k8s_config.ConfigException, OSError) as exc:
        raise ActionFailed(
            f"kube context {context!r} of {kubeconfig or kubeconfig_location()} cannot be"
            f" used: {exc}"
        ) from exc


def in_pod_or_from_kubeconfig(
    context: str | None = None, kubeconfig: str | None = None
) -> k8s.ApiClient:
    """The pod's service account when running in a pod, else :func:`from_kubeconfig`."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    configuration = k8s.Configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except k8s_config.ConfigException:
        return from_kubeconfig(context, kubeconfig)
    return k8s.ApiClient(configuration)
