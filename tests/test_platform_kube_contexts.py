"""Kube contexts: a missing or wrong one fails before anything is created, saying what to set."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fixtures.cluster import kube
from fixtures.config import OptionError
from fixtures.platforms.base import PlatformUnavailable


def write_kubeconfig(path: Path, contexts: dict[str, str], command: str | None = None) -> Path:
    """A kubeconfig with one cluster and user per context; the user may use an exec plugin."""
    user = (
        {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": command}}
        if command
        else {"token": "t"}
    )
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": c, "cluster": {"server": f"https://{c}.example:443"}}
                    for c in contexts.values()
                ],
                "users": [{"name": f"u-{name}", "user": user} for name in contexts],
                "contexts": [
                    {"name": name, "context": {"cluster": cluster, "user": f"u-{name}"}}
                    for name, cluster in contexts.items()
                ],
                "current-context": next(iter(contexts)),
            }
        )
    )
    return path


def test_no_kubeconfig_means_no_cluster_here(tmp_path: Path) -> None:
    with pytest.raises(PlatformUnavailable, match=r"no kubeconfig at .*get-credentials"):
        kube.list_contexts(str(tmp_path / "missing"))


def test_a_wrong_context_names_the_ones_there_and_the_option(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "config", {"gke_p_us_a": "a", "kind-mnist-e2e": "k"})
    contexts = kube.list_contexts(str(config))
    with pytest.raises(OptionError) as caught:
        kube.find_context("gke_p_us_b", contexts, location=str(config), option="--kube-context")
    message = str(caught.value)
    assert "'gke_p_us_b'" in message and "gke_p_us_a, kind-mnist-e2e" in message
    assert "set --kube-context" in message and "MNIST_E2E_KUBE_CONTEXT" in message
    assert (
        kube.find_context("gke_p_us_a", contexts, location=str(config), option="--kube-context")[
            "name"
        ]
        == "gke_p_us_a"
    )


def test_kubeconfig_files_merge_like_kubectl(tmp_path: Path) -> None:
    first = write_kubeconfig(tmp_path / "a", {"one": "c1"})
    second = write_kubeconfig(tmp_path / "b", {"one": "other", "two": "c2"})
    merged = kube.load_kubeconfig(f"{first}:{second}")
    assert [c["name"] for c in merged["contexts"]] == ["one", "two"]
    assert merged["contexts"][0]["context"]["cluster"] == "c1"  # the first file wins


def test_missing_gke_auth_plugin_is_named_with_how_to_install(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "c", {"gke_p_l_c": "c"}, command="gke-gcloud-auth-plugin")
    merged = kube.load_kubeconfig(str(config))
    problem = kube.auth_problem(merged, "gke_p_l_c", which=lambda name: None)
    assert problem is not None and "gcloud components install gke-gcloud-auth-plugin" in problem
    assert kube.auth_problem(merged, "gke_p_l_c", which=lambda name: f"/usr/bin/{name}") is None


def test_label_selector_is_stable() -> None:
    assert kube.labels_selector({"b": "2", "a": "1"}) == "a=1,b=2"


def test_api_client_talks_to_the_contexts_server(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "c", {"ctx": "c1", "other": "c2"})
    client = kube.api_client("other", str(config))
    try:
        assert client.configuration.host == "https://c2.example:443"
    finally:
        client.close()
