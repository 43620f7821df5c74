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
        pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
        task.set_env_variable("PYTHONPATH", pythonpath)
        return task.outputs["accuracy"]

    with tempfile.TemporaryDirectory(prefix="mnist-kfp-local-") as scratch:
        local.init(
            runner=local.SubprocessRunner(use_venv=False),
            pipeline_root=str(pipeline_root or scratch),
            raise_on_error=True,
        )
        try:
            result = local_train()
        except RuntimeError as exc:  # kfp.local's failure for a failed task
            raise LocalTrainError(f"the train component failed under kfp.local: {exc}") from exc
    return float(result.output)
