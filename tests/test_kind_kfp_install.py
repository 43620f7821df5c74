"""The air-gapped KFP install: the rendered files applied in order with the CRDs established
between, the database's node directory made for MariaDB, the uninstall hint in reverse, and
what the harness says about an install it finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.kind import kfp_install
from kubekit.constants import KFP_DB_NODE_DIR


def test_rendered_files_apply_cluster_scoped_first_then_wait_for_crds(tmp_path: Path) -> None:
    (tmp_path / "20-kfp.yaml").write_text("{}\n")
    (tmp_path / "10-cluster-scoped.yaml").write_text("{}\n")
    argvs = kfp_install.airgap_install_argvs(
        "/k/kubectl", "kind-x", kfp_install.airgap_files(tmp_path)
    )
    assert [a[3:5] for a in argvs] == [
        ["apply", "--server-side"],
        ["wait", "--for"],
        ["apply", "--server-side"],
    ]
    assert argvs[0][-1].endswith("10-cluster-scoped.yaml")
    assert argvs[2][-1].endswith("20-kfp.yaml")
    assert argvs[1][-2:] == ["crd", "--all"]
    hint = kfp_install.airgap_uninstall_hint("/k/kubectl", "kind-x", tmp_path)
    assert hint.index("20-kfp.yaml") < hint.index("10-cluster-scoped.yaml")
    # the database outlives KFP's pods, so removing KFP by hand removes it too
    assert hint.endswith(f"rm -rf --one-file-system {KFP_DB_NODE_DIR}")


def test_the_database_directory_is_made_for_mariadb_alone() -> None:
    argv = kfp_install.database_dir_argv("mnist-e2e-control-plane")
    assert argv == [
        "docker", "exec", "mnist-e2e-control-plane",
        "install", "-d", "-o", "999", "-g", "999", "-m", "0700", KFP_DB_NODE_DIR,
    ]  # fmt: skip


def test_no_rendered_files_says_to_run_the_build(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="tox -e airgap"):
        kfp_install.airgap_files(tmp_path)


def test_an_install_is_ours_when_its_api_server_image_tag_is() -> None:
    ours = "mnist-e2e/kfp-api-server:2.17.0-abc"
    assert "installing" in kfp_install.airgap_version_note(None, ours, "2.17.0")
    assert "using it" in kfp_install.airgap_version_note("2.17.0-abc", ours, "2.17.0")
    assert "not this air-gapped build's" in kfp_install.airgap_version_note(
        "2.16.0", ours, "2.17.0"
    )


def test_kfp_install_commands_are_pinned() -> None:
    argvs = kfp_install.install_argvs("kind-x", "2.17.0")
    assert [a[3:5] for a in argvs] == [
        ["apply", "-k"],
        ["wait", "--for"],
        ["apply", "-k"],
    ]
    assert all(a[-1].endswith("?ref=2.17.0") for a in (argvs[0], argvs[2]))
    assert "platform-agnostic" in argvs[2][-1]
    assert "delete -k" in kfp_install.uninstall_hint("kind-x", "2.17.0")
    assert "installing KFP 2.17.0" in kfp_install.version_note(None, "2.17.0")
    assert "not the pinned" in kfp_install.version_note("2.16.0", "2.17.0")
    assert "checked against KFP 2.17.0" in kfp_install.version_note("2.16.0", "2.17.0")
