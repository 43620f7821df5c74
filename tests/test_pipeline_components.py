"""The components' interfaces, and the train component's own checks (no training here)."""

import pytest
from kfp.dsl import Metrics

from pipeline import components


def test_train_interface():
    spec = components.make_train("mnist-e2e:1").component_spec
    assert set(spec.inputs) == {
        "model_export_dir",
        "train_steps",
        "learning_rate",
        "batch_size",
        "model_type",
        "data_dir",
        "export_dir_prefix",
    }
    assert set(spec.outputs) == {"metrics", "export_dir", "accuracy"}


def test_deploy_components_write_their_address():
    serve = components.make_serve("mnist-e2e:1", "kind").component_spec
    web_ui = components.make_web_ui("mnist-e2e:1", "gke").component_spec
    assert set(serve.outputs) == {"model_server"}
    assert set(web_ui.outputs) == {"url"}
    assert serve.implementation.container.image == "mnist-e2e:1"
    assert web_ui.implementation.container.args[:3] == ["web-ui", "--overlay", "gke"]


def test_export_dir_outside_the_mount_is_refused_before_training(tmp_path):
    metrics = Metrics(name="metrics", uri=str(tmp_path / "metrics"))
    with pytest.raises(ValueError, match="under the PVC mount /mnt/"):
        components.train(
            model_export_dir="/tmp/export",
            train_steps=1,
            learning_rate=0.01,
            batch_size=10,
            model_type="cnn",
            data_dir="",
            export_dir_prefix="/mnt/",
            metrics=metrics,
        )


def test_training_program_failure_raises_with_its_command_line(tmp_path):
    metrics = Metrics(name="metrics", uri=str(tmp_path / "metrics"))
    # model.train rejects the model type while parsing flags, before TensorFlow loads.
    with pytest.raises(RuntimeError, match=r"--tf-model-type resnet .* exited with 2"):
        components.train(
            model_export_dir=str(tmp_path / "export"),
            train_steps=1,
            learning_rate=0.01,
            batch_size=10,
            model_type="resnet",
            data_dir="",
            export_dir_prefix="",
            metrics=metrics,
        )
