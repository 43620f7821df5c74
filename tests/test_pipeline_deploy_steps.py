"""The deploy steps' parts that need no API server: the export check, values refused before
anything is applied, and how a failure reads. What they do against a cluster is tested there
(cluster_tests/test_deploy_rollout.py, test_deploy_steps.py)."""

import pytest

from kubekit.exceptions import Forbidden, NotFound, WaitTimeout
from pipeline.deploy import errors, render, steps

NS = "mnist-e2e-20261124t120000z-beef"


class NoClient:
    """An ApiClient stand-in that fails the test if anything reaches the API."""

    def __getattr__(self, name):
        raise AssertionError(f"the step used the API ({name}) before checking its values")


def web_ui_settings(**overrides):
    values = {
        "overlay": "kind",
        "namespace": NS,
        "run_id": NS,
        "image": "mnist-e2e:0123abc",
        "model_server": f"tf-serving.{NS}.svc:9000",
        "timeout_seconds": 30,
    }
    return steps.WebUiSettings(**{**values, **overrides})


def test_bad_values_fail_before_anything_is_applied():
    with pytest.raises(render.RenderError, match="host:port"):
        steps.web_ui(web_ui_settings(model_server="nowhere"), NoClient())
    with pytest.raises(render.RenderError, match=":latest"):
        steps.web_ui(web_ui_settings(image="mnist-e2e:latest"), NoClient())
    settings = steps.ServeSettings(
        overlay="kind", namespace=NS, run_id=NS, model_base_path="/etc/passwd"
    )
    with pytest.raises(render.RenderError, match="not a directory under /mnt/"):
        steps.serve(settings, NoClient())


def test_a_missing_export_fails_before_anything_is_applied():
    export = "/mnt/mnist-e2e-no-such-export"
    settings = steps.ServeSettings(overlay="kind", namespace=NS, run_id=NS, model_base_path=export)
    with pytest.raises(errors.DeployError, match=f"no model version under {export}"):
        steps.serve(settings, NoClient())


def test_addresses_are_the_services_in_cluster_names():
    assert steps.serving_address(NS) == f"tf-serving.{NS}.svc:9000"
    assert steps.web_ui_url(NS) == f"http://web-ui.{NS}.svc:80"


def test_check_export_lists_versions(tmp_path):
    (tmp_path / "1700000000").mkdir()
    (tmp_path / "1700000100").mkdir()
    (tmp_path / ".1700000200.tmp-abc").mkdir()  # an export in progress is not a version
    assert steps.check_export(str(tmp_path)) == [1700000000, 1700000100]


def test_check_export_without_versions_says_what_to_check(tmp_path):
    with pytest.raises(errors.DeployError, match=r"no model version under .*PVC mounted at /mnt"):
        steps.check_export(str(tmp_path / "missing"))


# -- how a failure reads (pipeline.deploy.errors) --------------------------------------------


def test_a_403_names_the_role_and_binding_to_apply():
    forbidden = Forbidden(
        "'apply Service run-ns/web-ui' failed (not retryable): HTTP 403: services \"web-ui\""
        " is forbidden (the caller's RBAC does not allow this)",
        status=403,
        description="apply Service run-ns/web-ui",
    )
    text = errors.explain(forbidden, "run-ns")
    assert text.startswith("'apply Service run-ns/web-ui' failed (not retryable): HTTP 403")
    assert "Role/RoleBinding mnist-e2e-deployer" in text
    assert "manifests/base/rbac.yaml" in text
    assert "in namespace run-ns" in text
    assert "render --part rbac" in text


def test_other_failures_read_as_they_are_on_one_line():
    missing = NotFound("'read Deployment ns/x' failed:\nHTTP 404", status=404)
    assert errors.explain(missing, "ns") == "'read Deployment ns/x' failed: HTTP 404"
    timeout = WaitTimeout("'roll out Deployment ns/x' timed out after 30.0s")
    assert "RoleBinding" not in errors.explain(timeout, "ns")


def test_rbac_name_is_the_manifests():
    rbac = render.rbac_objects("kind", namespace=NS, run_id=NS)
    assert {o["metadata"]["name"] for o in rbac} == {errors.RBAC_NAME}
