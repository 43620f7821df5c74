"""kubekit.client: the kubeconfig as kubectl reads it, and a client for one of its contexts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubekit import client as kube
from kubekit.constants import label_selector
from kubekit.exceptions import ActionFailed


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


def test_kubeconfig_files_merge_like_kubectl(tmp_path: Path) -> None:
    first = write_kubeconfig(tmp_path / "a", {"one": "c1"})
    second = write_kubeconfig(tmp_path / "b", {"one": "other", "two": "c2"})
    merged = kube.load_kubeconfig(f"{first}:{second}")
    assert [c["name"] for c in merged["contexts"]] == ["one", "two"]
    assert merged["contexts"][0]["context"]["cluster"] == "c1"  # the first file wins


def test_label_selector_is_stable() -> None:
    assert label_selector({"b": "2", "a": "1"}) == "a=1,b=2"


def test_api_client_talks_to_the_contexts_server(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "c", {"ctx": "c1", "other": "c2"})
    client = kube.from_kubeconfig("other", str(config))
    try:
        assert client.configuration.host == "https://c2.example:443"
    finally:
        client.close()


def test_an_unknown_context_fails_naming_it_and_the_kubeconfig(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "c", {"ctx": "c1"})
    with pytest.raises(ActionFailed, match=rf"kube context 'nope' of {config} cannot be used"):
        kube.from_kubeconfig("nope", str(config))
