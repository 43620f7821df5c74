"""Run the pipeline's train component on this machine through ``kfp.local``.

The same component the cluster runs, executed by KFP's local SubprocessRunner in this
interpreter's environment (``use_venv=False``: no per-run venv, no pip): the local platform
calls :func:`run_train_locally`, so every local e2e run exercises the component itself —
its argument handling, the metrics it logs and the outputs it returns.
"""

# No `from __future__ import annotations`: KFP reads the local pipeline's return annotation.
import os
import tempfile
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
# SubprocessRunner runs Python components in this interpreter; the image name only has to
# look like a Python image, or kfp.local warns that it might not be one.
LOCAL_IMAGE: Final = "python:3.11"


class LocalTrainError(RuntimeError):
    """The train component failed when run through kfp.local."""


def run_train_locally(
    export_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str] | None = None,
    steps: int = 200,
    *,
    batch_size: int = 100,
    learning_rate: float = 0.01,
    model_type: str = "cnn",
    pipeline_root: str | os.PathLike[str] | None = None,
) -> float:
    """Train and export to *export_dir* (a path or gs:// URI) via kfp.local; the test accuracy.

    *data_dir* None trains on the sample shipped in model/sample/. The component runs in a
    subprocess with the repo root on PYTHONPATH, so ``model`` imports wherever this is
    called from. Its outputs and metrics land under *pipeline_root* (default: a temp dir,
    removed afterwards).
    """
    from kfp import dsl, local

    from pipeline.components import make_train

    train_op = make_train(LOCAL_IMAGE)

    with tempfile.TemporaryDirectory(prefix="mnist-kfp-local-") as scratch:
        # kfp.local's runner writes the component's source to `mktemp -d` and never removes
        # it; with TMPDIR here, that (and the component's own temp dirs) goes with scratch.
        tmpdir = Path(scratch, "tmp")
        tmpdir.mkdir()

        @dsl.pipeline(name="mnist-e2e-local-train")
        def local_train() -> float:
            task = train_op(
                model_export_dir=str(export_dir),
                train_steps=steps,
                learning_rate=learning_rate,
                batch_size=batch_size,
                model_type=model_type,
                data_dir="" if data_dir is None else str(data_dir),
                export_dir_prefix="",
            )
            task.set_caching_options(False)
            pythonpath = os.pathsep.join(
                p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p
            )
            task.set_env_variable("PYTHONPATH", pythonpath)
            task.set_env_variable("TMPDIR", str(tmpdir))
            return task.outputs["accuracy"]

        local.init(
            runner=local.SubprocessRunner(use_venv=False),
            pipeline_root=str(pipeline_root or Path(scratch, "root")),
            raise_on_error=True,
        )
        try:
            result = local_train()
        except RuntimeError as exc:  # kfp.local's failure for a failed task
            raise LocalTrainError(f"the train component failed under kfp.local: {exc}") from exc
    return float(result.output)


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.local_run``: the train component under kfp.local, as the local
    platform's train step; writes ``{"accuracy", "version", "export_dir"}`` to --metrics-path.
    """
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m pipeline.local_run",
        description="Run the pipeline's train component on this machine through kfp.local.",
    )
    parser.add_argument("--export-dir", required=True, help="a local path or gs:// URI")
    parser.add_argument("--data-dir", default=None, help="MNIST IDX files (default: the sample)")
    parser.add_argument("--model-type", default="cnn", choices=("cnn", "linear"))
    parser.add_argument("--train-steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--pipeline-root", default=None, help="where kfp.local keeps outputs")
    parser.add_argument("--metrics-path", required=True, type=Path, help="JSON written here")
    args = parser.parse_args(argv)

    from model import versions

    try:
        accuracy = run_train_locally(
            args.export_dir,
            args.data_dir,
            args.train_steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            model_type=args.model_type,
            pipeline_root=args.pipeline_root,
        )
    except LocalTrainError as exc:
        print(f"pipeline.local_run: {exc}", file=sys.stderr)
        return 1
    # The export base belonged to this run alone, so its newest version is the one trained.
    version = max(versions.versions(versions.existing(args.export_dir)))
    args.metrics_path.parent.mkdir(parents=True, exist_ok=True)
    args.metrics_path.write_text(
        json.dumps({"accuracy": accuracy, "version": version, "export_dir": args.export_dir})
        + "\n",
        encoding="utf-8",
    )
    print(f"pipeline.local_run: accuracy {accuracy:.4f}, version {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
