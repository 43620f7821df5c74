"""Export a trained model as a versioned SavedModel with the contracted serving signature.

``<export_dir>/<version>/`` holds a SavedModel whose ``serving_default`` takes ``x`` float32
[None, 784] and returns ``classes`` int64 [None] and ``predictions`` float32 [None, 10]
(softmax). A model server polling ``<export_dir>`` must never see half a version, so the
version appears in one step: a local export is written to a hidden temp dir beside it and
renamed; a ``gs://`` export is uploaded with ``saved_model.pb`` last.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Final

import keras
import tensorflow as tf

from model import gcs
from model.contract import (
    IMAGE_PIXELS,
    INPUT_KEY,
    OUTPUT_CLASSES,
    OUTPUT_PREDICTIONS,
    SIGNATURE_NAME,
)
from model.versions import check_free

SAVED_MODEL_PB: Final = "saved_model.pb"


class _Serving(tf.Module):
    """Only what serving needs: the model's weights and one signature (no optimizer state)."""

    def __init__(self, model: keras.Model) -> None:
        super().__init__(name="mnist_serving")
        # A fresh model holding copies of the weights, for two reasons: a compiled model
        # tracks its optimizer, whose state would triple the export (Adam keeps two slots per
        # weight; keras.models.clone_model copies the compilation along); and distributed
        # (mirrored) variables would tie the save to the other workers, while plain ones let
        # the chief export alone.
        self.model = type(model).from_config(model.get_config())
        self.model.set_weights(model.get_weights())

    @tf.function(input_signature=[tf.TensorSpec([None, IMAGE_PIXELS], tf.float32, INPUT_KEY)])
    def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        probabilities = tf.nn.softmax(self.model(x, training=False), axis=-1)
        # argmax of the probabilities (not the logits) so classes always agree with them.
        classes = tf.argmax(probabilities, axis=-1, output_type=tf.int64)
        return {OUTPUT_CLASSES: classes, OUTPUT_PREDICTIONS: probabilities}


def save(model: keras.Model, directory: Path) -> None:
    """Write *model* as a SavedModel with the contracted ``serving_default`` into *directory*."""
    module = _Serving(model)
    tf.saved_model.save(
        module, str(directory), signatures={SIGNATURE_NAME: module.serve.get_concrete_function()}
    )


def export(model: keras.Model, export_dir: str, version: int) -> str:
    """Publish *model* as ``<export_dir>/<version>``; return that path or URI."""
    check_free(export_dir, version)
    if gcs.is_gs_uri(export_dir):
        return _export_gcs(model, export_dir.rstrip("/"), version)
    return _export_local(model, Path(export_dir), version)


def _export_local(model: keras.Model, base: Path, version: int) -> str:
    base.mkdir(parents=True, exist_ok=True)
    final = base / str(version)
    # A hidden, non-numeric name on the same filesystem: pollers skip it, and the rename that
    # publishes it is atomic. (Not mkdtemp: its mode 0700 would lock out a server running as
    # another user; this directory gets the umask's mode, like any other.)
    staging = base / f".{version}.tmp-{uuid.uuid4().hex}"
    try:
        save(model, staging)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return str(final)


def _export_gcs(model: keras.Model, base: str, version: int) -> str:
    target = f"{base}/{version}"
    with tempfile.TemporaryDirectory(prefix="mnist-export-") as tmp:
        save(model, Path(tmp))
        gcs.upload_tree(Path(tmp), target, last=(SAVED_MODEL_PB,))
    return target
