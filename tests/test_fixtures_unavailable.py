"""A platform asked for that cannot run here fails the run, naming what is missing; it skips
only when the user opts in (``--if-unavailable skip``)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

STORY = """
def test_a_user_story(mnist_run):
    assert mnist_run.endpoints

def test_another_story(mnist_run):
    assert mnist_run.endpoints
"""
PLUGINS = ("-p", "fixtures.plugin", "-p", "fixtures.e2e_fixtures")
GKE_CONTEXT = "gke_proj_us-central1_ci"
GKE = (
    "--platform", "gke", "--kube-context", GKE_CONTEXT, "--gcp-project", "proj",
    "--registry", "r.example/proj/ci", "--image", "r.example/proj/ci/mnist-e2e:1",
)  # fmt: skip


@pytest.fixture
def story(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester dir holding two e2e-style tests that need the provisioned run."""
    pytester.makepyfile(test_story=STORY)
    return pytester


@pytest.fixture
def no_tools(story: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """No kind, docker, kubectl or git on PATH."""
    monkeypatch.setenv("PATH", str(story.path / "no-tools"))
    monkeypatch.delenv("MNIST_E2E_IF_UNAVAILABLE", raising=False)
    return story


def test_kind_without_its_tools_fails_naming_what_is_missing_and_where_to_get_it(
    no_tools: pytest.Pytester,
) -> None:
    result = no_tools.runpytest_inprocess(*PLUGINS, "--platform", "kind")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*platform kind unavailable: --platform kind needs kind*on PATH*install:*",
            "*--if-unavailable skip*",
        ]
    )


def test_skipping_an_unavailable_platform_is_opt_in(no_tools: pytest.Pytester) -> None:
    result = no_tools.runpytest_inprocess(
        *PLUGINS, "--platform", "kind", "--if-unavailable", "skip", "-rs"
    )

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*platform kind unavailable: --platform kind needs kind*"])


def test_the_env_twin_opts_in_too(no_tools: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("MNIST_E2E_IF_UNAVAILABLE", "skip")
    result = no_tools.runpytest_inprocess(*PLUGINS, "--platform", "kind")

    result.assert_outcomes(skipped=2)


def test_gke_without_credentials_fails_saying_how_to_get_them(
    story: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = story.path / "bin"
    bin_dir.mkdir()
    kubectl = bin_dir / "kubectl"  # only looked up on PATH, never run before the failure
    kubectl.write_text("#!/bin/sh\nexit 1\n")
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IXUSR)
    kubeconfig = story.path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "not-a-secret"}}],
                "contexts": [{"name": GKE_CONTEXT, "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    # An explicit key file that is not there: google.auth stops at it, asking no server.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(story.path / "no-key.json"))
    monkeypatch.delenv("MNIST_E2E_IF_UNAVAILABLE", raising=False)

    result = story.runpytest_inprocess(*PLUGINS, *GKE)

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*platform gke unavailable: no Google Application Default Credentials:"
            " run `gcloud auth application-default login`*",
            "*left nothing behind*",
        ]
    )
    assert not list(Path(story.path, "artifacts").glob("*/ledger.jsonl")), "nothing created"
