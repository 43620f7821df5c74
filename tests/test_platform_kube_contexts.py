"""Kube contexts: a missing or wrong one fails before anything is created, saying what to set."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.config import OptionError
from fixtures.platforms import kube_contexts as kube
from fixtures.platforms.base import PlatformUnavailable
from kubekit.client import load_kubeconfig
from tests.test_kubekit_client import write_kubeconfig


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


def test_missing_gke_auth_plugin_is_named_with_how_to_install(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "c", {"gke_p_l_c": "c"}, command="gke-gcloud-auth-plugin")
    merged = load_kubeconfig(str(config))
    problem = kube.auth_problem(merged, "gke_p_l_c", which=lambda name: None)
    assert problem is not None and "gcloud components install gke-gcloud-auth-plugin" in problem
    assert kube.auth_problem(merged, "gke_p_l_c", which=lambda name: f"/usr/bin/{name}") is None
