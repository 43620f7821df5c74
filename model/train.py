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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from model import distribute
from model.contract import MODEL_TYPES

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
    if text.startswith("gs://"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is a gs:// URI; this must be a local path (only --tf-export-dir may be"
            " gs://)"
        )
    return Path(text)


def _export_dir(text: str) -> str:
    bucket = text[len("gs://") :].partition("/")[0] if text.startswith("gs://") else "-"
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
    return parser.parse_args(argv)


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


# -- the program, in the order the data flows ------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the training program; return its exit status."""
    args = parse_args(argv)
    # model.data reports each download; TensorFlow's own loggers are left as they are.
    logging.getLogger("model").addHandler(logging.StreamHandler(sys.stdout))
    logging.getLogger("model").setLevel(logging.INFO)
    try:
        tf_config = distribute.parse_tf_config(os.environ.get("TF_CONFIG"))
    except distribute.TfConfigError as exc:
        return _error(exc, status=2)
    chief = distribute.is_chief(tf_config)

    # Check every place the chief will write, now: not after minutes of training.
    from model import writable

    if chief:
        try:
            writable.check_dir("--tf-export-dir", args.tf_export_dir)
            if args.tf_model_dir is not None:
                writable.check_dir("--tf-model-dir", args.tf_model_dir)
            if args.tf_metrics_path is not None:
                writable.check_file("--tf-metrics-path", args.tf_metrics_path)
        except writable.NotWritable as exc:
            return _error(exc)

    # Prepare the data: the shipped sample, or MNIST from --tf-data-dir. NumPy only, so bad
    # data is reported before TensorFlow spends seconds loading.
    from model.data import DownloadError, MnistFileError

    try:
        data = prepare_data(args.tf_data_dir)
    except (MnistFileError, DownloadError) as exc:
        return _error(exc)
    print(f"data: {len(data.train_labels)} train, {len(data.test_labels)} test digits")

    from model import versions

    if chief and args.tf_export_version is not None:
        try:  # now, not after an hour of training
            versions.check_free(args.tf_export_dir, args.tf_export_version)
        except versions.ExportError as exc:
            return _error(exc)

    from model import export, networks, training

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

    # Train for exactly --tf-train-steps batches.
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

    # Evaluate on the test digits, which training never saw.
    accuracy = training.accuracy(model, data.test_images, data.test_labels)
    print(f"test_accuracy={accuracy:.4f}")

    # Export the versioned SavedModel: the chief's job alone. (The export copies the weights
    # into a plain model first, so unlike the checkpoint it needs no other worker.)
    if not chief:
        print("not the chief: the chief exports")
        return 0
    version = args.tf_export_version or versions.next_version(
        versions.existing(args.tf_export_dir), int(time.time())
    )
    try:
        export_path = export.export(model, args.tf_export_dir, version)
    except versions.ExportError as exc:
        return _error(exc)
    except OSError as exc:  # checked before training, but a disk can still fill up
        return _error(f"--tf-export-dir {args.tf_export_dir!r}: export failed: {exc}")
    print(f"exported version {version} to {export_path}")

    if args.tf_metrics_path is not None:
        metrics = {
            "accuracy": accuracy,
            "model_type": args.tf_model_type,
            "steps": args.tf_train_steps,
            "export_path": export_path,
            "version": version,
            "steps_per_second": steps_per_second,
            "train_seconds": train_seconds,
        }
        try:
            args.tf_metrics_path.parent.mkdir(parents=True, exist_ok=True)
            args.tf_metrics_path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:  # the model is exported: say so, and what failed
            return _error(
                f"--tf-metrics-path {str(args.tf_metrics_path)!r}: cannot write the metrics"
                f" ({exc}); the model was exported to {export_path}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
