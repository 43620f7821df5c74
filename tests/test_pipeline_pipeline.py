"""The compiled pipeline (KFP IR): tasks, order, mounts, parameters and defaults, per platform."""

import pytest
import yaml

from pipeline.compile import compile_pipeline
from pipeline.deploy import render
from pipeline.pipeline import build_pipeline

IMAGE = "registry.example/mnist-e2e:0123abc"


def compiled(tmp_path, platform, **kwargs):
    path = compile_pipeline(platform, tmp_path / f"{platform}.yaml", IMAGE, **kwargs)
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def executor_of(spec, task):
    component = spec["root"]["dag"]["tasks"][task]["componentRef"]["name"]
    label = spec["components"][component]["executorLabel"]
    return label, spec["deploymentSpec"]["executors"][label]["container"]


def k8s_config(docs, spec, task):
    label, _ = executor_of(spec, task)
    if len(docs) < 2:
        return {}
    return docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"].get(label, {})


@pytest.fixture(scope="module")
def onprem(tmp_path_factory):
    return compiled(tmp_path_factory.mktemp("ir"), "onprem")


@pytest.fixture(scope="module")
def gcp(tmp_path_factory):
    return compiled(tmp_path_factory.mktemp("ir"), "gcp")


def test_three_tasks_in_order_by_data_dependencies(onprem):
    tasks = onprem[0]["root"]["dag"]["tasks"]
    assert sorted(tasks) == ["serve", "train", "web-ui"]
    assert "dependentTasks" not in tasks["train"]
    assert tasks["serve"]["dependentTasks"] == ["train"]
    assert tasks["web-ui"]["dependentTasks"] == ["serve"]
    # The order comes from data: serve deploys the export train wrote, web-ui talks to serve.
    assert tasks["serve"]["inputs"]["parameters"]["model_base_path"]["taskOutputParameter"] == {
        "producerTask": "train",
        "outputParameterKey": "export_dir",
    }
    assert tasks["web-ui"]["inputs"]["parameters"]["model_server"]["taskOutputParameter"] == {
        "producerTask": "serve",
        "outputParameterKey": "model_server",
    }


def test_no_step_is_cached(onprem):
    for task in onprem[0]["root"]["dag"]["tasks"].values():
        assert not task.get("cachingOptions", {}).get("enableCache")


def test_onprem_mounts_the_pvc_in_train_and_serve_only(onprem):
    spec = onprem[0]
    for task in ("train", "serve"):
        (mount,) = k8s_config(onprem, spec, task)["pvcMount"]
        assert mount["mountPath"] == "/mnt"
        assert mount["pvcNameParameter"] == {"componentInputParameter": "pvc_name"}
    assert "pvcMount" not in k8s_config(onprem, spec, "web-ui")


def test_gcp_mounts_nothing(gcp):
    spec = gcp[0]
    for task in ("train", "serve", "web-ui"):
        assert k8s_config(gcp, spec, task) == {}
    assert len(gcp) == 1  # no Kubernetes platform spec at all


def test_gcp_with_a_key_secret_mounts_it_where_gcs_is_read(tmp_path):
    docs = compiled(tmp_path, "gcp", gcp_secret="gcp-key")
    spec = docs[0]
    for task in ("train", "serve"):
        config = k8s_config(docs, spec, task)
        assert "pvcMount" not in config
        (volume,) = config["secretAsVolume"]
        assert (volume["secretName"], volume["mountPath"]) == (
            "gcp-key",
            render.GCP_CREDENTIALS_DIR,
        )
        env = {e["name"]: e["value"] for e in executor_of(spec, task)[1]["env"]}
        assert env["GOOGLE_APPLICATION_CREDENTIALS"] == f"{render.GCP_CREDENTIALS_DIR}/key.json"
    assert k8s_config(docs, spec, "web-ui") == {}
    assert "--gcp-secret" in executor_of(spec, "serve")[1]["args"]


def test_gcp_with_an_emulator_gives_train_and_serve_its_host(tmp_path):
    docs = compiled(tmp_path, "gcp", storage_emulator_host="http://172.18.0.9:9023")
    spec = docs[0]
    for task in ("train", "serve"):
        env = {e["name"]: e["value"] for e in executor_of(spec, task)[1]["env"]}
        assert env == {render.STORAGE_EMULATOR_ENV: "http://172.18.0.9:9023"}
    assert "env" not in executor_of(spec, "web-ui")[1]


def parameters(docs):
    return docs[0]["root"]["inputDefinitions"]["parameters"]


def test_parameters_and_defaults(onprem, gcp):
    params = parameters(onprem)
    defaults = {name: p.get("defaultValue") for name, p in params.items()}
    assert defaults == {
        "namespace": None,
        "model_export_dir": "/mnt/export",
        "train_steps": 200,
        "learning_rate": 0.01,
        "batch_size": 100,
        "model_type": "cnn",
        "data_dir": "",
        "pvc_name": "mnist-model",
        "run_id": "",
        "image": IMAGE,
        "serving_image": render.TF_SERVING_IMAGE,
        "service_type": "ClusterIP",
        "gcp_service_account": "",
        "deploy_timeout_seconds": 600,
    }
    assert not params["namespace"].get("isOptional")  # where to deploy must be said
    types = {name: p["parameterType"] for name, p in params.items()}
    assert types["train_steps"] == types["batch_size"] == "NUMBER_INTEGER"
    assert types["learning_rate"] == "NUMBER_DOUBLE"
    assert parameters(gcp)["model_export_dir"]["defaultValue"] == ""  # a bucket must be given


def test_train_records_accuracy_as_a_metric_and_outputs(onprem):
    component = onprem[0]["components"]["comp-train"]
    outputs = component["outputDefinitions"]
    assert outputs["artifacts"]["metrics"]["artifactType"]["schemaTitle"] == "system.Metrics"
    assert set(outputs["parameters"]) == {"export_dir", "accuracy"}
    _, container = executor_of(onprem[0], "train")
    assert 'metrics.log_metric("accuracy"' in "".join(container["command"])
    # kfp comes from the image: a non-root pod cannot pip-install it at run time.
    assert "pip install" not in "".join(container["command"])
    assert container["resources"]["resourceMemoryLimit"] == "4Gi"


def test_every_step_runs_the_compiled_image_and_deploy_steps_the_deploy_cli(onprem, gcp):
    for docs, overlay in ((onprem, "kind"), (gcp, "gke")):
        for task in ("train", "serve", "web-ui"):
            assert executor_of(docs[0], task)[1]["image"] == IMAGE
        for task, command in (("serve", "serve"), ("web-ui", "web-ui")):
            container = executor_of(docs[0], task)[1]
            assert container["command"] == ["python", "-m", "pipeline.deploy"]
            assert container["args"][:3] == [command, "--overlay", overlay]


def test_train_step_requires_the_platforms_export_prefix(onprem, gcp):
    for docs, prefix in ((onprem, "/mnt/"), (gcp, "gs://")):
        inputs = docs[0]["root"]["dag"]["tasks"]["train"]["inputs"]["parameters"]
        assert inputs["export_dir_prefix"]["runtimeValue"]["constant"] == prefix


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"platform": "aws"}, "onprem, gcp"),
        ({"platform": "onprem", "gcp_secret": "key"}, "gcp_secret is for --platform gcp"),
        ({"platform": "onprem", "image": "mnist-e2e"}, "tag or digest"),
        (
            {"platform": "onprem", "storage_emulator_host": "http://e:9023"},
            "storage_emulator_host is for --platform gcp",
        ),
    ],
)
def test_bad_choices_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_pipeline(**kwargs)
