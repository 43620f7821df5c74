"""Export a trained model as a versioned SavedModel with the contracted serving signatures.

``<export_dir>/<version>/`` holds a SavedModel whose ``serving_default`` and ``classes``
signatures (one function under the original example's two names) take ``x`` float32 of any
rank — [N, 784] or [N, 28, 28], checked inside — and return ``classes`` uint8 [N] and
``predictions`` float32 [N, 10] (softmax); see docs/wire-compatibility.md. A model server polling ``<export_dir>`` must never see half a version, so the
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
    IMAGE_SHAPES,
    INPUT_KEY,
    OUTPUT_CLASSES,
    OUTPUT_PREDICTIONS,
    SIGNATURES,
)
from model.versions import check_free

SAVED_MODEL_PB: Final = "saved_model.pb"


SHAPE_ERROR: Final = (
    f"input '{INPUT_KEY}' must hold N >= 1 float32 images shaped"
    f" {' or '.join(str(list(shape)) for shape in IMAGE_SHAPES)}"
    " (that is [N, 784] or [N, 28, 28]); reshape the request. Its shape is"
)


def flat_images(x: tf.Tensor) -> tf.Tensor:
    """*x* as [N, 784] if it is [N, 784] or [N, 28, 28] with N >= 1; InvalidArgumentError else.

    The signature declares ``x`` with no shape, so that both ranks reach this check; it runs in
    the graph, so real TF Serving refuses a wrong shape exactly as the embedded server does.
    """
    shape = tf.shape(x)
    rank = tf.size(shape)

    def is_batch_of(image_shape: tuple[int, ...]) -> tf.Tensor:
        # tf.cond: the comparison only runs when the ranks agree (shapes of two lengths fail).
        return tf.cond(
            tf.equal(rank, len(image_shape) + 1),
            lambda: tf.logical_and(shape[0] >= 1, tf.reduce_all(tf.equal(shape[1:], image_shape))),
            lambda: tf.constant(False),
        )

    fits = tf.reduce_any(tf.stack([is_batch_of(image_shape) for image_shape in IMAGE_SHAPES]))
    check = tf.debugging.Assert(fits, [SHAPE_ERROR, shape], summarize=8)
    with tf.control_dependencies([check]):
        return tf.reshape(x, [-1, IMAGE_PIXELS])


class _Serving(tf.Module):
    """Only what serving needs: the model's weights and its signature (no optimizer state)."""

    def __init__(self, model: keras.Model) -> None:
        super().__init__(name="mnist_serving")
        # A fresh model holding copies of the weights, for two reasons: a compiled model
        # tracks its optimizer, whose state would triple the export (Adam keeps two slots per
        # weight; keras.models.clone_model copies the compilation along); and distributed
        # (mirrored) variables would tie the save to the other workers, while plain ones let
        # the chief export alone.
        self.model = type(model).from_config(model.get_config())
        self.model.set_weights(model.get_weights())

    # Shape None (unknown rank): TF Serving and the embedded server then hand any shape to
    # flat_images, which accepts the two the original example's clients send.
    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, INPUT_KEY)])
    def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        probabilities = tf.nn.softmax(self.model(flat_images(x), training=False), axis=-1)
        # argmax of the probabilities (not the logits) so classes always agree with them;
        # uint8 as the original's cast, which TF Serving answers in int_val.
        classes = tf.cast(tf.argmax(probabilities, axis=-1), tf.uint8)
        return {OUTPUT_CLASSES: classes, OUTPUT_PREDICTIONS: probabilities}


def save(model: keras.Model, directory: Path) -> None:
    """Write *model* as a SavedModel with the contracted signatures into *directory*."""
    module = _Serving(model)
    serve = module.serve.get_concrete_function()
    tf.saved_model.save(module, str(directory), signatures=dict.fromkeys(SIGNATURES, serve))


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
