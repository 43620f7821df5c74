"""The deploy command line: exit statuses, messages, output file, kubeconfig outside a pod."""

import yaml

from pipeline.deploy.__main__ import main
from tests.fake_apiserver import (
    FakeApiServer,
    deployment_json,
    pod_json,
    pod_list,
    replica_set_list,
    serving,
    status_body,
)

NS = "run-ns"
LABELS = {"app.kubernetes.io/name": "web-ui"}


def kubeconfig(tmp_path, monkeypatch, url):
    """Point the client at *url* through a real kubeconfig file, as outside a cluster."""
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


def web_ui_argv(fake, output):
    return [
        "web-ui",
        "--overlay", "kind",
        "--namespace", NS,
        "--image", "mnist-e2e:1",
        "--model-server", "tf-serving:9000",
        "--timeout", "30",
        "--context", "fake",
        "--probe-url", fake.url,
        "--output", str(output),
    ]  # fmt: skip


def test_render_prints_the_runs_objects(capsys):
    assert main(["render", "--overlay", "kind", "--namespace", NS, "--part", "rbac"]) == 0
    objects = list(yaml.safe_load_all(capsys.readouterr().out))
    assert sorted(o["kind"] for o in objects) == ["Role", "RoleBinding"]
    assert {o["metadata"]["namespace"] for o in objects} == {NS}
    # Without --run-id the namespace is the run id.
    assert {o["metadata"]["labels"]["mnist-e2e/run-id"] for o in objects} == {NS}


def test_render_storage_is_the_bridged_volume(capsys):
    argv = ["render", "--overlay", "kind", "--namespace", NS, "--part", "storage"]
    assert main([*argv, "--node-name", "kind-control-plane"]) == 0
    objects = list(yaml.safe_load_all(capsys.readouterr().out))
    assert [(o["kind"], o["metadata"].get("namespace")) for o in objects] == [
        ("PersistentVolume", None),
        ("PersistentVolumeClaim", NS),
        ("PersistentVolume", None),
        ("PersistentVolumeClaim", "kubeflow"),
    ]


def test_bad_value_exits_2_naming_it(capsys):
    assert main(["render", "--overlay", "kind", "--namespace", "Not_A_Label"]) == 2
    assert "namespace 'Not_A_Label' is not a DNS label" in capsys.readouterr().err


def test_web_ui_writes_its_url(tmp_path, monkeypatch, capsys):
    with serving(FakeApiServer()) as fake:
        kubeconfig(tmp_path, monkeypatch, fake.url)
        apps = f"/apis/apps/v1/namespaces/{NS}"
        fake.routes[("PATCH", f"{apps}/deployments/web-ui")] = lambda r: (200, r.body)
        fake.routes[("PATCH", f"/api/v1/namespaces/{NS}/services/web-ui")] = lambda r: (200, r.body)
        fake.route(
            "GET", f"{apps}/deployments/web-ui", (200, deployment_json("web-ui", NS, 1, LABELS))
        )
        fake.route("GET", f"{apps}/replicasets", (200, replica_set_list("web-ui", NS)))
        fake.route(
            "GET",
            f"/api/v1/namespaces/{NS}/pods",
            (200, pod_list([pod_json("web-ui", NS, LABELS, None)])),
        )
        fake.route("GET", "/readyz", (200, {}))
        assert main(web_ui_argv(fake, tmp_path / "out" / "url")) == 0
    assert (tmp_path / "out" / "url").read_text() == f"http://web-ui.{NS}.svc:80"
    # The token from the kubeconfig went with every API request.
    assert fake.requests[0].headers["authorization"] == "Bearer not-a-secret"


def test_failed_deploy_exits_1_with_the_cause(tmp_path, monkeypatch, capsys):
    with serving(FakeApiServer()) as fake:
        kubeconfig(tmp_path, monkeypatch, fake.url)
        fake.route(
            "PATCH",
            f"/api/v1/namespaces/{NS}/services/web-ui",
            (403, status_body(403, "services is forbidden")),
        )
        assert main(web_ui_argv(fake, tmp_path / "url")) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: web-ui: 'apply Service run-ns/web-ui' failed: HTTP 403")
    assert not (tmp_path / "url").exists()
