"""Train the MNIST CNN or linear model and export it for TF Serving: the pipeline's train step.

    python -m model.train --tf-export-dir E [--tf-data-dir D] [--tf-model-dir M]
        [--tf-model-type cnn|linear] [--tf-train-steps 200] [--tf-batch-size 100]
        [--tf-learning-rate 0.01] [--tf-metrics-path FILE] [--tf-export-version N]

Flags are the original Kubeflow example's. Without ``--tf-data-dir`` it trains on the shipped
sample (model/sample/); a data dir is used as is, and MNIST files missing from it are
downloaded into it. Prints ``test_accuracy=<float>`` and exports ``E/<version>/``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from model import distribute
from model.contract import GS_SCHEME, MODEL_TYPES

if TYPE_CHECKING:
    from model.data import MnistData

SEED: Final = 42
LOG_EVERY: Final = 100  # steps between loss lines


# -- flags -----------------------------------------------------------------------------------


def _positive(kind: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {what}")
        return value

    return parse


def _local_dir(text: str) -> Path:
    # A prefix test, not model.gcs: that imports google-cloud-storage (0.4 s) before any check.
    if text.startswith(GS_SCHEME):
        raise argparse.ArgumentTypeError(
            f"{text!r} is a gs:// URI; this must be a local path (only --tf-export-dir may be"
            " gs://)"
        )
    return Path(text)


def _export_dir(text: str) -> str:
    bucket = text[len(GS_SCHEME) :].partition("/")[0] if text.startswith(GS_SCHEME) else "-"
    if not text.strip() or not bucket:
        raise argparse.ArgumentTypeError(
            f"{text!r} names no directory; expected a path or gs://BUCKET[/PREFIX]"
        )
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read and check the command line; a bad or unknown flag exits with status 2."""
    parser = argparse.ArgumentParser(
        prog="python -m model.train",
        description="Train an MNIST model and export it as a versioned SavedModel.",
        allow_abbrev=False,  # a typo must not silently select another flag
    )
    _location_flags(parser)
    _training_flags(parser)
    _output_flags(parser)
    return parser.parse_args(argv)


def _location_flags(parser: argparse.ArgumentParser) -> None:
    """Where the data comes from, the checkpoint and the export go."""
    parser.add_argument(
        "--tf-data-dir",
        type=_local_dir,
        default=None,
        metavar="DIR",
        help="directory with the four MNIST IDX .gz files, used as is; missing files are"
        " downloaded into it (default: the shipped 5,000-digit sample)",
    )
    parser.add_argument(
        "--tf-model-dir",
        type=_local_dir,
        default=None,
        metavar="DIR",
        help="directory for the training checkpoint (default: a temp dir, removed at exit)",
    )
    parser.add_argument(
        "--tf-export-dir",
        type=_export_dir,
        required=True,
        metavar="DIR_OR_GS_URI",
        help="base directory or gs://bucket/prefix; the model goes to <dir>/<version>/",
    )


def _training_flags(parser: argparse.ArgumentParser) -> None:
    """The model and how it is trained."""
    parser.add_argument(
        "--tf-model-type",
        choices=MODEL_TYPES,
        default="cnn",
        help="the model to train (default: cnn)",
    )
    parser.add_argument(
        "--tf-train-steps",
        type=_positive(int, "positive integer"),
        default=200,
        metavar="N",
        help="training steps (default: 200)",
    )
    parser.add_argument(
        "--tf-batch-size",
        type=_positive(int, "positive integer"),
        default=100,
        metavar="N",
        help="global batch size, split across workers under TF_CONFIG (default: 100)",
    )
    parser.add_argument(
        "--tf-learning-rate",
        type=_positive(float, "positive number"),
        default=0.01,
        metavar="RATE",
        help="learning rate (default: 0.01): SGD with momentum 0.9 for cnn, Adam for linear",
    )


def _output_flags(parser: argparse.ArgumentParser) -> None:
    """What the run reports, and the export's version."""
    parser.add_argument(
        "--tf-metrics-path",
        type=_local_dir,
        default=None,
        metavar="FILE",
        help="write the metrics (accuracy, steps/s, export path, …) to this JSON file",
    )
    parser.add_argument(
        "--tf-export-version",
        type=_positive(int, "positive integer"),
        default=None,
        metavar="N",
        help="version number of the export (default: unix seconds, above any existing one)",
    )


# -- helpers ---------------------------------------------------------------------------------


def prepare_data(data_dir: Path | None) -> MnistData:
    """Fetch what the data dir lacks, then load train and test sets."""
    from model.data import fetch_mnist, load_mnist

    if data_dir is not None:
        fetch_mnist(data_dir)
    return load_mnist(data_dir)


@contextmanager
def _writable_dir(wanted: Path | None, chief: bool) -> Iterator[Path]:
    """*wanted* on the chief; a temp dir elsewhere, or when nothing was asked for.

    Under MultiWorkerMirroredStrategy every worker must take part in saving a checkpoint (it
    may run collective ops), but only the chief's copy is kept.
    """
    if wanted is not None and chief:
        wanted.mkdir(parents=True, exist_ok=True)
        yield wanted
        return
    with tempfile.TemporaryDirectory(prefix="mnist-train-") as tmp:
        yield Path(tmp)


def _error(message: object, status: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


class Stop(Exception):
    """A stage cannot go on: main prints the message and exits with *status*."""

    def __init__(self, message: object, status: int = 1) -> None:
        super().__init__(str(message))
        self.status = status


@dataclass(frozen=True)
class Trained:
    """What training made: the model, and how fast it went."""

    model: Any
    steps_per_second: float
    train_seconds: float


# -- the program, in the order the data flows ------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the training program; return its exit status."""
    args = parse_args(argv)
    # model.data reports each download; TensorFlow's own loggers are left as they are.
    logging.getLogger("model").addHandler(logging.StreamHandler(sys.stdout))
    logging.getLogger("model").setLevel(logging.INFO)
    try:
        tf_config = distribute.parse_tf_config(os.environ.get("TF_CONFIG"))
        chief = distribute.is_chief(tf_config)
        check_outputs(args, chief)
        data = load_data(args, chief)
        trained = train(args, data, tf_config, chief)
        accuracy = evaluate(trained.model, data)
        if not chief:
            print("not the chief: the chief exports")
            return 0
        version, export_path = export_model(args, trained.model)
        write_metrics(args, accuracy, version, export_path, trained)
    except distribute.TfConfigError as exc:
        return _error(exc, status=2)
    except Stop as exc:
        return _error(exc, exc.status)
    return 0


def check_outputs(args: argparse.Namespace, chief: bool) -> None:
    """Check every place the chief will write, now: not after minutes of training."""
    from model import writable

    if not chief:
        return
    try:
        writable.check_dir("--tf-export-dir", args.tf_export_dir)
        if args.tf_model_dir is not None:
            writable.check_dir("--tf-model-dir", args.tf_model_dir)
        if args.tf_metrics_path is not None:
            writable.check_file("--tf-metrics-path", args.tf_metrics_path)
    except writable.NotWritable as exc:
        raise Stop(exc) from exc


def load_data(args: argparse.Namespace, chief: bool) -> MnistData:
    """The shipped sample, or MNIST from --tf-data-dir. NumPy only, so bad data is reported
    before TensorFlow spends seconds loading; then the export version is checked free."""
    from model import versions
    from model.data import DownloadError, MnistFileError

    try:
        data = prepare_data(args.tf_data_dir)
    except (MnistFileError, DownloadError) as exc:
        raise Stop(exc) from exc
    print(f"data: {len(data.train_labels)} train, {len(data.test_labels)} test digits")
    if chief and args.tf_export_version is not None:
        try:  # now, not after an hour of training
            versions.check_free(args.tf_export_dir, args.tf_export_version)
        except versions.ExportError as exc:
            raise Stop(exc) from exc
    return data


def train(args: argparse.Namespace, data: MnistData, tf_config: Any, chief: bool) -> Trained:
    """Build the model and train it for exactly --tf-train-steps batches; checkpoint it."""
    from model import networks, training

    # One worker or several (TF_CONFIG). First, as MultiWorkerMirroredStrategy must set up its
    # collective ops before TensorFlow runs anything else.
    strategy = distribute.strategy(tf_config)
    training.seed_everything(SEED)
    dataset = training.train_dataset(
        data.train_images, data.train_labels, args.tf_batch_size, SEED, args.tf_train_steps
    )

    # Build the model, its variables mirrored on every worker.
    with strategy.scope():
        model = networks.build(args.tf_model_type)
        optimizer = training.make_optimizer(args.tf_model_type, args.tf_learning_rate)
    train_step = training.make_train_step(model, optimizer, strategy, args.tf_batch_size)
    batches = iter(strategy.experimental_distribute_dataset(dataset))

    started = time.perf_counter()
    for step in range(1, args.tf_train_steps + 1):
        loss = train_step(batches)
        if step % LOG_EVERY == 0 or step == args.tf_train_steps:
            print(f"step {step}: loss {float(loss):.4f}")
    train_seconds = time.perf_counter() - started
    steps_per_second = args.tf_train_steps / train_seconds
    print(f"trained {args.tf_model_type} for {args.tf_train_steps} steps in {train_seconds:.2f}s"
          f" ({steps_per_second:.1f} steps/s)")  # fmt: skip
    with _writable_dir(args.tf_model_dir, chief) as model_dir:
        training.save_checkpoint(model, optimizer, model_dir, args.tf_train_steps)
    return Trained(model, steps_per_second, train_seconds)


def evaluate(model: Any, data: MnistData) -> float:
    """Accuracy on the test digits, which training never saw."""
    from model import training

    accuracy = training.accuracy(model, data.test_images, data.test_labels)
    print(f"test_accuracy={accuracy:.4f}")
    return accuracy


def export_model(args: argparse.Namespace, model: Any) -> tuple[int, str]:
    """Export the versioned SavedModel: the chief's job alone. (The export copies the weights
    into a plain model first, so unlike the checkpoint it needs no other worker.)"""
    from model import export, versions

    version = args.tf_export_version or versions.next_version(
        versions.existing(args.tf_export_dir), int(time.time())
    )
    try:
        export_path = export.export(model, args.tf_export_dir, version)
    except versions.ExportError as exc:
        raise Stop(exc) from exc
    except OSError as exc:  # checked before training, but a disk can still fill up
        raise Stop(f"--tf-export-dir {args.tf_export_dir!r}: export failed: {exc}") from exc
    print(f"exported version {version} to {export_path}")
    return version, export_path


def write_metrics(
    args: argparse.Namespace, accuracy: float, version: int, export_path: str, trained: Trained
) -> None:
    """The run's numbers as JSON at --tf-metrics-path (the pipeline's train step reads them)."""
    if args.tf_metrics_path is None:
        return
    metrics = {
        "accuracy": accuracy,
        "model_type": args.tf_model_type,
        "steps": args.tf_train_steps,
        "export_path": export_path,
        "version": version,
        "steps_per_second": trained.steps_per_second,
        "train_seconds": trained.train_seconds,
    }
    try:
        args.tf_metrics_path.parent.mkdir(parents=True, exist_ok=True)
        args.tf_metrics_path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:  # the model is exported: say so, and what failed
        raise Stop(
            f"--tf-metrics-path {str(args.tf_metrics_path)!r}: cannot write the metrics"
            f" ({exc}); the model was exported to {export_path}"
        ) from exc


if __name__ == "__main__":
    sys.exit(main())
