"""The train component run for real through kfp.local (SubprocessRunner, no venv)."""

import pytest

from pipeline.local_run import LocalTrainError, run_train_locally


@pytest.mark.slow
def test_train_component_trains_and_exports_through_kfp_local(tmp_path, monkeypatch):
    # From another directory: the component must find `model` through PYTHONPATH, not cwd.
    monkeypatch.chdir(tmp_path)
    accuracy = run_train_locally(tmp_path / "export", steps=5, pipeline_root=tmp_path / "kfp")
    assert 0.0 <= accuracy <= 1.0
    (version,) = [p for p in (tmp_path / "export").iterdir() if p.name.isdigit()]
    assert (version / "saved_model.pb").is_file()
    # kfp.local kept the component's outputs, as a cluster run's artifacts would be.
    assert list((tmp_path / "kfp").rglob("executor_output.json"))


@pytest.mark.slow  # starts a kfp.local subprocess (no TensorFlow: the flag is rejected first)
def test_failing_component_raises(tmp_path):
    with pytest.raises(LocalTrainError, match="train component failed"):
        run_train_locally(tmp_path / "export", steps=5, model_type="resnet")
