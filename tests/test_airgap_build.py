"""The air-gapped build's pure parts: wrapper go.mod files, the sandbox image, the manifest
the kind platform reads, and the model server's command under --airgap."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci.airgap import gobuild, node_image
from ci.airgap.manifest import Manifest, ManifestMissing, load
from ci.airgap.pins import GoModule
from fixtures.config import HarnessConfig, OptionError
from fixtures.platforms import airgap, checked
from fixtures.platforms.base import PlatformUnavailable
from pipeline.deploy import render

KUBERNETES_GOMOD = """module k8s.io/kubernetes

go 1.24.0

require (
\tk8s.io/api v0.0.0
\tgithub.com/spf13/cobra v1.9.1
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go // the client
)
"""
ETCD_GOMOD = """module go.etcd.io/etcd/server/v3

require go.etcd.io/etcd/api/v3 v3.6.5

replace go.etcd.io/etcd/api/v3 => ../api

replace go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY

exclude github.com/example/broken v1.0.0
"""


def test_staging_modules_are_pinned_to_the_release_they_were_published_with() -> None:
    target = GoModule("k8s.io/kubernetes", "v1.34.4", ("k8s.io/kubernetes/cmd/kubelet",), "")
    gomod = gobuild.wrapper_gomod(target, KUBERNETES_GOMOD)
    assert "require k8s.io/kubernetes v1.34.4" in gomod
    assert "replace k8s.io/api => k8s.io/api v0.34.4" in gomod
    assert "replace k8s.io/client-go => k8s.io/client-go v0.34.4" in gomod
    assert "./staging" not in gomod


def test_sibling_modules_keep_their_required_version_and_guards_are_dropped() -> None:
    target = GoModule("go.etcd.io/etcd/server/v3", "v3.6.5", ("go.etcd.io/etcd/server/v3",), "")
    gomod = gobuild.wrapper_gomod(target, ETCD_GOMOD)
    assert "replace go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v3.6.5" in gomod
    assert "FORBIDDEN_DEPENDENCY" not in gomod
    assert "exclude github.com/example/broken v1.0.0" in gomod


def test_the_pause_image_is_the_one_containerd_starts_pods_with() -> None:
    config = (
        '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.10"\n'
    )
    assert node_image.sandbox_image(config) == "registry.k8s.io/pause:3.10"
    with pytest.raises(ValueError, match="sandbox_image"):
        node_image.sandbox_image("[plugins]\n")


def test_a_missing_build_says_to_run_tox_airgap(tmp_path: Path) -> None:
    with pytest.raises(ManifestMissing, match="tox -e airgap"):
        load(tmp_path / "manifest.json")
    with pytest.raises(PlatformUnavailable, match="tox -e airgap"):
        airgap.checked_manifest(tmp_path / "manifest.json")


def test_every_piece_the_manifest_names_is_checked(tmp_path: Path) -> None:
    kind = tmp_path / "kind"
    kind.write_text("#!/bin/sh\n")
    kind.chmod(0o755)
    built = Manifest(
        node_image="mnist-e2e/kind-node:v1-abc",
        kind=str(kind),
        kubectl=str(tmp_path / "absent-kubectl"),
        kubernetes_version="v1.34.4",
        kind_version="v0.30.0",
        images={"project": "mnist-e2e:abc-localbase"},
    )
    path = built.write(tmp_path / "manifest.json")
    assert load(path) == built
    missing = airgap.missing_pieces(built, image_exists=lambda name: "kind-node" in name)
    assert missing == [f"binary {tmp_path / 'absent-kubectl'}", "image mnist-e2e:abc-localbase"]


def test_airgap_is_refused_before_anything_runs_on_another_platform() -> None:
    with pytest.raises(OptionError, match="--airgap is for --platform kind, not 'local'"):
        checked(HarnessConfig(platform="local", airgap=True))
    checked(HarnessConfig(platform="kind", airgap=True))


@pytest.mark.parametrize(
    ("image", "stand_in"),
    [
        ("tensorflow/serving:2.20.0", False),
        ("docker.io/tensorflow/serving:2.20.0", False),
        ("mirror.example:5000/tensorflow/serving@sha256:" + "0" * 64, False),
        ("mnist-e2e:0123456789ab-localbase", True),
        ("registry.example/tensorflow/serving-mirror:1", True),
    ],
)
def test_the_model_server_command_follows_its_image(image: str, stand_in: bool) -> None:
    tf_serving = ["tensorflow_model_server"]
    command = render.serving_command(image, tf_serving)
    assert command == (render.STAND_IN_COMMAND if stand_in else tf_serving)


def test_the_rehearsal_emulator_image_installs_the_locks_pins_and_runs_non_root() -> None:
    from ci.airgap import pins, stand_in_images

    dockerfile = stand_in_images.gcs_emulator_dockerfile("mnist-e2e/python-base:x")
    assert dockerfile.startswith("FROM mnist-e2e/python-base:x\n")
    assert "--no-deps -c /tmp/lock.txt gcp-storage-emulator google-crc32c" in dockerfile
    assert "\nUSER 10001:10001\n" in dockerfile
    assert f'"--port={pins.GCS_EMULATOR_PORT}", "--in-memory"]' in dockerfile
    lock = stand_in_images.LOCK.read_text()
    assert all(f"\n{name}==" in lock for name in pins.GCS_EMULATOR_PACKAGES)


def test_each_build_recipe_reads_its_own_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two checkouts with different ci/ (branches, worktrees) share the cache but not the
    manifest: one's `tox -e airgap` never changes what the other's runs install."""
    from ci.airgap import manifest

    recipe = tmp_path / "ci"
    (recipe / "airgap").mkdir(parents=True)
    (recipe / "airgap" / "kfp.py").write_text("render = 1\n")
    monkeypatch.setattr(manifest, "_RECIPE", recipe)
    first = manifest.default_path(tmp_path / "cache")
    assert first.parent == tmp_path / "cache" / "manifests"
    assert manifest.default_path(tmp_path / "cache") == first  # stable
    (recipe / "airgap" / "kfp.py").write_text("render = 2\n")
    assert manifest.default_path(tmp_path / "cache") != first
