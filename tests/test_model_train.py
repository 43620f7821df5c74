"""model.train: the training CLI — its flags, and real training runs that export.

The slow tests run ``python -m model.train`` as a subprocess exactly as the platforms do, with
few steps; the gs:// export goes to a real gcp-storage-emulator on loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from fixtures.ports import free_port
from model import train
from model.data import FILE_NAMES, SAMPLE_DIR, TRAIN_LABELS

ROOT = Path(__file__).resolve().parents[1]
STEPS = "20"


@dataclass
class Run:
    """A finished ``python -m model.train``."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Run:
    """Run the training CLI from the repo root, as the platforms do."""
    done = subprocess.run(
        [sys.executable, "-m", "model.train", *args],
        cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    return Run(done.returncode, done.stdout, done.stderr)


def _printed_accuracy(stdout: str) -> float:
    lines = [line for line in stdout.splitlines() if line.startswith("test_accuracy=")]
    assert len(lines) == 1, f"expected one test_accuracy= line in:\n{stdout}"
    return float(lines[0].partition("=")[2])


# -- flags (fast: rejected before TensorFlow loads) -------------------------------------------


def test_defaults_are_the_original_examples() -> None:
    args = train.parse_args(["--tf-export-dir", "/e"])

    assert args.tf_model_type == "cnn"
    assert args.tf_train_steps == 200
    assert args.tf_batch_size == 100
    assert args.tf_learning_rate == 0.01
    assert args.tf_data_dir is None and args.tf_model_dir is None
    assert args.tf_metrics_path is None and args.tf_export_version is None


def test_an_unknown_flag_is_an_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        train.parse_args(["--tf-export-dir", "/e", "--tf-epochs", "3"])

    assert exit_.value.code == 2
    assert "unrecognized arguments: --tf-epochs 3" in capsys.readouterr().err


def test_an_abbreviated_flag_is_not_guessed(capsys) -> None:
    with pytest.raises(SystemExit):
        train.parse_args(["--tf-export-dir", "/e", "--tf-train", "5"])

    assert "unrecognized arguments: --tf-train 5" in capsys.readouterr().err


def test_the_export_dir_is_required(capsys) -> None:
    with pytest.raises(SystemExit):
        train.parse_args([])

    assert "the following arguments are required: --tf-export-dir" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--tf-train-steps", "0", "'0' is not a positive integer"),
        ("--tf-train-steps", "-3", "'-3' is not a positive integer"),
        ("--tf-train-steps", "ten", "'ten' is not a positive integer"),
        ("--tf-batch-size", "1.5", "'1.5' is not a positive integer"),
        ("--tf-learning-rate", "-0.1", "'-0.1' is not a positive number"),
        ("--tf-learning-rate", "nan", "'nan' is not a positive number"),
        ("--tf-learning-rate", "inf", "'inf' is not a positive number"),
        ("--tf-model-type", "rnn", "invalid choice: 'rnn' (choose from cnn, linear)"),
        ("--tf-export-version", "0", "'0' is not a positive integer"),
        ("--tf-export-dir", "", "'' names no directory"),
        ("--tf-export-dir", "gs:///export", "'gs:///export' names no directory"),
        ("--tf-model-dir", "gs://b/ckpt", "'gs://b/ckpt' is a gs:// URI; this must be a local"),
    ],
)
def test_a_bad_value_is_rejected_naming_flag_and_value(flag, value, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        train.parse_args(["--tf-export-dir", "/e", flag, value])

    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: " in err
    assert message.replace("'", "") in err.replace("'", "")


def test_the_cli_rejects_a_flag_without_loading_tensorflow(tmp_path: Path) -> None:
    # TensorFlow must not even be imported: a typo in a pipeline should fail in a blink.
    probe = (
        "import sys\n"
        "from model import train\n"
        "try:\n"
        "    train.main(['--tf-export-dir', 'e', '--tf-bogus'])\n"
        "except SystemExit as exc:\n"
        "    print(exc.code, 'tensorflow' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert done.stdout.split() == ["2", "False"]
    assert "unrecognized arguments: --tf-bogus" in done.stderr


def test_a_bad_tf_config_exits_2_with_the_reason(tmp_path: Path) -> None:
    run = run_cli("--tf-export-dir", str(tmp_path), env={"TF_CONFIG": "{cluster"})

    assert run.returncode == 2
    assert "error: TF_CONFIG is not valid JSON" in run.stderr


def test_a_corrupt_data_file_is_named(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(SAMPLE_DIR, data_dir)
    (data_dir / TRAIN_LABELS).write_bytes(b"not gzip")

    run = run_cli("--tf-data-dir", str(data_dir), "--tf-export-dir", str(tmp_path / "e"))

    assert run.returncode == 1
    assert f"error: {data_dir / TRAIN_LABELS}: not a complete gzip file" in run.stderr
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize("under", ["a regular file", "/proc"])
def test_an_unwritable_export_dir_fails_in_one_line_before_training(tmp_path: Path, under) -> None:
    if under == "/proc":
        export_dir = "/proc/mnist-e2e/export"
    else:
        (tmp_path / "file").write_text("x")
        export_dir = str(tmp_path / "file" / "export")

    run = run_cli("--tf-export-dir", export_dir, "--tf-train-steps", STEPS)

    assert run.returncode == 1
    assert run.stderr.splitlines() == [run.stderr.strip()], "one line, no traceback"
    assert run.stderr.startswith(f"error: --tf-export-dir {export_dir!r} is not writable: ")
    assert "step" not in run.stdout and "data:" not in run.stdout, "checked before anything ran"


def test_an_unwritable_metrics_path_fails_before_training_and_exports_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "file").write_text("x")
    metrics = tmp_path / "file" / "metrics.json"

    run = run_cli(
        "--tf-export-dir", str(tmp_path / "export"), "--tf-metrics-path", str(metrics),
        "--tf-train-steps", STEPS,
    )  # fmt: skip

    assert run.returncode == 1
    assert run.stderr.splitlines() == [run.stderr.strip()], "one line, no traceback"
    assert run.stderr.startswith(f"error: --tf-metrics-path {str(metrics)!r} is not writable: ")
    assert not (tmp_path / "export").exists()


# -- training runs (slow) -----------------------------------------------------------------------


@dataclass
class Trained:
    """A training run that exported: its output, metrics, and where things went."""

    run: Run
    metrics: dict
    export_dir: Path
    model_dir: Path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Trained]:
    """One short training run per model type, exported locally.

    linear reads a copy of the sample through --tf-data-dir (used as is: no download) and
    exports version 5; cnn reads the default sample. Teardown: pytest's tmp_path retention.
    """
    results = {}
    for model_type in ("linear", "cnn"):
        root = tmp_path_factory.mktemp(model_type)
        extra = []
        if model_type == "linear":
            data_dir = root / "data"
            data_dir.mkdir()
            for name in FILE_NAMES:
                shutil.copy(SAMPLE_DIR / name, data_dir / name)
            extra = ["--tf-data-dir", str(data_dir), "--tf-export-version", "5"]
        run = run_cli(
            "--tf-model-type", model_type, "--tf-train-steps", STEPS,
            "--tf-export-dir", str(root / "export"), "--tf-model-dir", str(root / "ckpt"),
            "--tf-metrics-path", str(root / "metrics.json"), *extra,
        )  # fmt: skip
        assert run.returncode == 0, f"{model_type} training failed:\n{run.stderr[-3000:]}"
        metrics = json.loads((root / "metrics.json").read_text(encoding="utf-8"))
        results[model_type] = Trained(run, metrics, root / "export", root / "ckpt")
    return results


@pytest.mark.slow
@pytest.mark.parametrize("model_type", ["linear", "cnn"])
def test_training_exports_a_version_and_reports_its_accuracy(trained, model_type) -> None:
    result = trained[model_type]

    versions = [p.name for p in result.export_dir.iterdir()]
    assert versions == [str(result.metrics["version"])]
    assert result.metrics["export_path"] == str(result.export_dir / versions[0])
    assert (result.export_dir / versions[0] / "saved_model.pb").is_file()
    assert result.metrics["model_type"] == model_type
    assert result.metrics["steps"] == int(STEPS)
    assert result.metrics["steps_per_second"] > 0 and result.metrics["train_seconds"] > 0
    # Twenty steps are enough to beat chance (0.1) by far.
    assert 0.3 < result.metrics["accuracy"] <= 1.0
    assert _printed_accuracy(result.run.stdout) == pytest.approx(
        result.metrics["accuracy"], abs=5e-5
    )


@pytest.mark.slow
def test_the_version_defaults_to_unix_seconds(trained) -> None:
    assert abs(trained["cnn"].metrics["version"] - time.time()) < 600
    assert trained["linear"].metrics["version"] == 5


@pytest.mark.slow
@pytest.mark.parametrize("model_type", ["linear", "cnn"])
def test_the_model_dir_holds_the_checkpoint(trained, model_type) -> None:
    names = {p.name for p in trained[model_type].model_dir.iterdir()}

    assert {"checkpoint", f"ckpt-{STEPS}.index"} <= names


@pytest.mark.slow
def test_an_existing_version_is_refused(trained) -> None:
    export_dir = trained["linear"].export_dir

    run = run_cli(
        "--tf-model-type", "linear", "--tf-train-steps", "1",
        "--tf-export-dir", str(export_dir), "--tf-export-version", "5",
    )  # fmt: skip

    assert run.returncode == 1
    assert f"error: version 5 already exists in {export_dir}" in run.stderr
    assert [p.name for p in export_dir.iterdir()] == ["5"]


# -- gs:// export against a real GCS emulator ---------------------------------------------------


@pytest.mark.slow
def test_export_to_gcs_lists_the_version_with_saved_model_pb_written_last(
    gcs_emulator: str, trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    from model import gcs

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    client = gcs.client()
    client.create_bucket("mnist-export-test")
    export_uri = "gs://mnist-export-test/runs/export"

    run = run_cli(
        "--tf-model-type", "linear", "--tf-train-steps", STEPS, "--tf-export-dir", export_uri,
        env={"STORAGE_EMULATOR_HOST": gcs_emulator},
    )  # fmt: skip

    assert run.returncode == 0, run.stderr[-3000:]
    versions = gcs.list_children(export_uri, client)
    assert len(versions) == 1 and versions[0].isdigit()
    assert f"exported version {versions[0]} to {export_uri}/{versions[0]}" in run.stdout
    blobs = list(client.list_blobs("mnist-export-test", prefix=f"runs/export/{versions[0]}/"))
    names = {blob.name.rsplit(f"{versions[0]}/", 1)[1] for blob in blobs}
    assert {"saved_model.pb", "variables/variables.index"} <= names
    # A polling server must never find saved_model.pb before the variables it needs.
    newest = max(blobs, key=lambda blob: blob.generation)
    assert newest.name.endswith("/saved_model.pb")
    # Same flags, same data, same seed: the same model as the local linear run of the sample.
    assert _printed_accuracy(run.stdout) == pytest.approx(trained["linear"].metrics["accuracy"])


# -- TF_CONFIG: two workers on loopback ----------------------------------------------------------


@pytest.mark.slow
def test_two_workers_train_together_and_only_the_chief_exports(tmp_path: Path) -> None:
    cluster = {"worker": [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]}
    workers = []
    for index in (0, 1):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        argv = [
            sys.executable, "-m", "model.train", "--tf-model-type", "linear",
            "--tf-train-steps", "10", "--tf-export-dir", str(tmp_path / "export"),
            "--tf-model-dir", str(tmp_path / "ckpt"),
            "--tf-metrics-path", str(tmp_path / f"metrics-{index}.json"),
        ]  # fmt: skip
        env = {**os.environ, "TF_CONFIG": tf_config, "TF_CPP_MIN_LOG_LEVEL": "2"}
        workers.append(
            subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        )
    outputs = []
    try:
        for worker in workers:
            outputs.append(worker.communicate(timeout=240)[0])
    finally:
        # A worker waiting for its peer ignores SIGTERM: kill, so none outlives the test.
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    assert [w.returncode for w in workers] == [0, 0], "\n----\n".join(outputs)[-4000:]
    assert _printed_accuracy(outputs[0]) == _printed_accuracy(outputs[1])
    assert "not the chief" in outputs[1]
    assert len(list((tmp_path / "export").iterdir())) == 1
    assert (tmp_path / "metrics-0.json").is_file()
    assert not (tmp_path / "metrics-1.json").exists()


@pytest.mark.slow
def test_a_dataset_of_known_steps_ends_with_the_last_and_keeps_the_batches():
    from model import training

    images = np.arange(40 * 784, dtype=np.float32).reshape(40, 784)
    labels = np.arange(40) % 10
    endless = iter(training.train_dataset(images, labels, 8, seed=3))
    finite = list(training.train_dataset(images, labels, 8, seed=3, steps=7))
    assert len(finite) == 7  # more than one epoch (5 batches), then the end
    for batch_images, batch_labels in finite:
        expected_images, expected_labels = next(endless)
        np.testing.assert_array_equal(batch_images, expected_images)
        np.testing.assert_array_equal(batch_labels, expected_labels)
