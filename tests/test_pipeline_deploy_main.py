"""The deploy command line: arguments into settings, exit statuses, messages, the output file,
and the kubeconfig outside a pod. The steps themselves run against a cluster in
cluster_tests/ (test_deploy_rollout.py runs this command line there, refused by RBAC)."""

import logging

import pytest
import yaml

from kubekit.exceptions import Forbidden
from pipeline.deploy import __main__ as cli
from pipeline.deploy import steps
from pipeline.deploy.errors import DeployError
from pipeline.deploy.rollout import RolloutStatus, State
from pipeline.deploy.rollout_watch import RolloutFailed

NS = "run-ns"


def kubeconfig(tmp_path, monkeypatch, url="https://127.0.0.1:6443"):
    """A real kubeconfig file, as outside a cluster; not in a pod."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": url}}],
        "users": [{"name": "fake", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
        "current-context": "fake",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return path


def web_ui_argv(output):
    return [
        "web-ui",
        "--overlay", "kind",
        "--namespace", NS,
        "--run-id", "run-1",
        "--image", "mnist-e2e:1",
        "--model-server", "tf-serving:9000",
        "--service-type", "NodePort",
        "--timeout", "30",
        "--context", "fake",
        "--probe-url", "http://127.0.0.1:5000",
        "--output", str(output),
    ]  # fmt: skip


@pytest.fixture
def step_calls(tmp_path, monkeypatch):
    """Replaces the steps with a recorder; its ``outcome`` is returned or raised."""
    kubeconfig(tmp_path, monkeypatch)
    calls = []

    class Recorder:
        outcome = "http://web-ui.run-ns.svc:80"

        def __call__(self, settings, client):
            calls.append((settings, client))
            logging.getLogger("mnist_e2e.deploy").info("applied Deployment %s/web-ui", NS)
            if isinstance(self.outcome, Exception):
                raise self.outcome
            return self.outcome

    recorder = Recorder()
    monkeypatch.setattr(steps, "web_ui", recorder)
    monkeypatch.setattr(steps, "serve", recorder)
    recorder.calls = calls
    return recorder


def test_render_prints_the_runs_objects(capsys):
    assert cli.main(["render", "--overlay", "kind", "--namespace", NS, "--part", "rbac"]) == 0
    objects = list(yaml.safe_load_all(capsys.readouterr().out))
    assert sorted(o["kind"] for o in objects) == ["Role", "RoleBinding"]
    assert {o["metadata"]["namespace"] for o in objects} == {NS}
    # Without --run-id the namespace is the run id.
    assert {o["metadata"]["labels"]["mnist-e2e/run-id"] for o in objects} == {NS}


def test_render_storage_is_the_bridged_volume(capsys):
    argv = ["render", "--overlay", "kind", "--namespace", NS, "--part", "storage"]
    assert cli.main([*argv, "--node-name", "kind-control-plane"]) == 0
    objects = list(yaml.safe_load_all(capsys.readouterr().out))
    assert [(o["kind"], o["metadata"].get("namespace")) for o in objects] == [
        ("PersistentVolume", None),
        ("PersistentVolumeClaim", NS),
        ("PersistentVolume", None),
        ("PersistentVolumeClaim", "kubeflow"),
    ]


def test_bad_value_exits_2_naming_it(capsys):
    assert cli.main(["render", "--overlay", "kind", "--namespace", "Not_A_Label"]) == 2
    assert "namespace 'Not_A_Label' is not a DNS label" in capsys.readouterr().err


def test_a_bad_argument_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["web-ui", "--overlay", "kind", "--namespace", NS, "--timeout", "-3"])
    assert exit_.value.code == 2
    assert "'-3' is not a positive number of seconds" in capsys.readouterr().err


def test_web_ui_gets_its_settings_prints_progress_and_writes_its_url(tmp_path, step_calls, capsys):
    output = tmp_path / "out" / "url"
    assert cli.main(web_ui_argv(output)) == 0
    ((settings, client),) = step_calls.calls
    assert settings == steps.WebUiSettings(
        overlay="kind",
        namespace=NS,
        run_id="run-1",
        image="mnist-e2e:1",
        model_server="tf-serving:9000",
        service_type="NodePort",
        timeout_seconds=30.0,
        probe_url="http://127.0.0.1:5000",
    )
    # Outside a pod, the kubeconfig's server and token.
    assert client.configuration.host == "https://127.0.0.1:6443"
    assert client.configuration.api_key["authorization"] == "Bearer not-a-secret"
    assert output.read_text() == f"http://web-ui.{NS}.svc:80"
    # The progress lines (the pod's log) are on stdout, plain; the result last.
    out = capsys.readouterr().out.splitlines()
    assert out == [f"applied Deployment {NS}/web-ui", f"http://web-ui.{NS}.svc:80"]


def test_serve_gets_its_settings(tmp_path, step_calls):
    step_calls.outcome = f"tf-serving.{NS}.svc:9000"
    argv = [
        "serve", "--overlay", "gke", "--namespace", NS,
        "--model-base-path", "gs://bucket/export",
        "--gcp-service-account", "reader@proj-1.iam.gserviceaccount.com",
        "--no-preflight", "--probe-target", "127.0.0.1:9000",
    ]  # fmt: skip
    assert cli.main(argv) == 0
    ((settings, _client),) = step_calls.calls
    assert settings == steps.ServeSettings(
        overlay="gke",
        namespace=NS,
        run_id=NS,
        model_base_path="gs://bucket/export",
        gcp_service_account="reader@proj-1.iam.gserviceaccount.com",
        preflight=False,
        probe_target="127.0.0.1:9000",
    )


def test_a_403_exits_1_with_the_rbac_to_apply(tmp_path, step_calls, capsys):
    step_calls.outcome = Forbidden(
        "'apply Service run-ns/web-ui' failed (not retryable): HTTP 403: services is forbidden",
        status=403,
    )
    assert cli.main(web_ui_argv(tmp_path / "url")) == 1
    (err,) = capsys.readouterr().err.splitlines()
    assert err.startswith("error: web-ui: 'apply Service run-ns/web-ui' failed (not retryable)")
    assert "Role/RoleBinding mnist-e2e-deployer" in err
    assert not (tmp_path / "url").exists()


@pytest.mark.parametrize(
    "failure",
    [
        RolloutFailed(
            "rollout failed (ErrImageNeverPull): pod x is ErrImageNeverPull",
            status=RolloutStatus(State.FAILED, "ErrImageNeverPull", "pod x"),
            description="roll out Deployment run-ns/web-ui",
        ),
        DeployError("no model version under /mnt/export"),
    ],
)
def test_a_failed_step_exits_1_with_the_cause_on_one_line(tmp_path, step_calls, capsys, failure):
    step_calls.outcome = failure
    assert cli.main(web_ui_argv(tmp_path / "url")) == 1
    assert capsys.readouterr().err == f"error: web-ui: {failure}\n"


def test_no_credentials_exits_1_saying_what_to_pass(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert cli.main(web_ui_argv(tmp_path / "url")) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: web-ui: no Kubernetes credentials: not in a pod")
    assert "pass --kubeconfig/--context or set KUBECONFIG" in err
