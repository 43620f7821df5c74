"""The train component run for real through kfp.local (SubprocessRunner, no venv)."""

import tempfile
from pathlib import Path

import pytest

from pipeline.local_run import LocalTrainError, run_train_locally


@pytest.mark.slow
def test_train_component_trains_and_exports_through_kfp_local(tmp_path, monkeypatch):
    # From another directory: the component must find `model` through PYTHONPATH, not cwd.
    monkeypatch.chdir(tmp_path)
    before = set(Path(tempfile.gettempdir()).glob("tmp.*"))
    accuracy = run_train_locally(tmp_path / "export", steps=5, pipeline_root=tmp_path / "kfp")
    assert 0.0 <= accuracy <= 1.0
    (version,) = [p for p in (tmp_path / "export").iterdir() if p.name.isdigit()]
    assert (version / "saved_model.pb").is_file()
    # kfp.local kept the component's outputs, as a cluster run's artifacts would be.
    assert list((tmp_path / "kfp").rglob("executor_output.json"))
    # kfp.local's `mktemp -d` for the component's source went with our scratch dir.
    assert set(Path(tempfile.gettempdir()).glob("tmp.*")) <= before


@pytest.mark.slow  # starts a kfp.local subprocess (no TensorFlow: the flag is rejected first)
def test_failing_component_raises(tmp_path):
    with pytest.raises(LocalTrainError, match="train component failed"):
        run_train_locally(tmp_path / "export", steps=5, model_type="resnet")


@pytest.mark.slow
def test_the_cli_writes_the_accuracy_and_the_trained_version(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    metrics = tmp_path / "metrics.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.local_run",
            "--export-dir",
            str(tmp_path / "export"),
            "--model-type",
            "linear",
            "--train-steps",
            "5",
            "--metrics-path",
            str(metrics),
        ],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    written = json.loads(metrics.read_text())
    (version,) = [int(p.name) for p in (tmp_path / "export").iterdir() if p.name.isdigit()]
    assert written["version"] == version
    assert 0.0 <= written["accuracy"] <= 1.0
