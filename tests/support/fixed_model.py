"""A linear model with fixed weights and a fully declared signature, to check a server without training.

Its ``serving_default`` declares ``x`` [None, 784] and answers int64 ``classes``: the shape the
contract had before it took two ranks (docs/wire-compatibility.md), kept here because a
declared shape is what the server's own shape checks work on, and int64 because a server must
answer every dtype in its typed field.

Test-only: the real model server (``python -m serving``) loads it in the tests; it is not part
of the ``serving`` package and not in the image.

Pixel ``i`` votes for class ``i % 10``, so an image lighting only pixels ``≡ k (mod 10)`` is
class ``k`` — predictable answers with no training and no data. ``favoured`` adds a large bias
to one class, which makes two versions tell themselves apart by their answers, not only by
the version number they report. The export is published the way the training program
publishes one: a local version appears by an atomic rename, a ``gs://`` version is uploaded
with ``saved_model.pb`` last.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import numpy as np
import tensorflow as tf

from model import gcs
from model.contract import (
    IMAGE_PIXELS,
    INPUT_KEY,
    NUM_CLASSES,
    OUTPUT_CLASSES,
    OUTPUT_PREDICTIONS,
    SIGNATURE_NAME,
)

FAVOURED_BIAS = 100.0


def weights() -> np.ndarray:
    """[784, 10]: 1 where pixel i votes for class i % 10, else 0."""
    votes = np.zeros((IMAGE_PIXELS, NUM_CLASSES), np.float32)
    votes[np.arange(IMAGE_PIXELS), np.arange(IMAGE_PIXELS) % NUM_CLASSES] = 1.0
    return votes


def image_of_class(digit: int, brightness: float = 1.0) -> np.ndarray:
    """A [784] float32 image this model classifies as *digit* (pixels ≡ digit mod 10 lit)."""
    image = np.zeros(IMAGE_PIXELS, np.float32)
    image[digit::NUM_CLASSES] = brightness
    return image


def probabilities(images: np.ndarray, favoured: int | None = None) -> np.ndarray:
    """[N, 10] float32: what the model answers for *images* [N, 784], computed with numpy.

    The tests' oracle for the served model's ``predictions`` (softmax of per-class pixel sums).
    """
    logits = np.asarray(images, np.float32) @ weights()
    if favoured is not None:
        logits[:, favoured] += FAVOURED_BIAS
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


class FixedLinear(tf.Module):
    """softmax(x @ W + b) with the contract's ``serving_default`` signature."""

    def __init__(self, favoured: int | None = None) -> None:
        super().__init__(name="fixed_linear")
        bias = np.zeros(NUM_CLASSES, np.float32)
        if favoured is not None:
            bias[favoured] = FAVOURED_BIAS
        self.w = tf.Variable(weights(), trainable=False, name="w")
        self.b = tf.Variable(bias, trainable=False, name="b")

    @tf.function(input_signature=[tf.TensorSpec([None, IMAGE_PIXELS], tf.float32, INPUT_KEY)])
    def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        probabilities = tf.nn.softmax(tf.matmul(x, self.w) + self.b, axis=-1)
        classes = tf.argmax(probabilities, axis=-1, output_type=tf.int64)
        return {OUTPUT_CLASSES: classes, OUTPUT_PREDICTIONS: probabilities}


def save(directory: Path, favoured: int | None = None) -> None:
    """Write the SavedModel into *directory* (which must not exist yet)."""
    module = FixedLinear(favoured)
    tf.saved_model.save(
        module, str(directory), signatures={SIGNATURE_NAME: module.serve.get_concrete_function()}
    )


def export(base: str | os.PathLike[str], version: int, favoured: int | None = None) -> str:
    """Publish version *version* under *base* (a directory or ``gs://…``); return its location."""
    if gcs.is_gs_uri(base):
        target = f"{str(base).rstrip('/')}/{version}"
        with tempfile.TemporaryDirectory(prefix="fixed-model-") as tmp:
            save(Path(tmp) / "model", favoured)
            gcs.upload_tree(Path(tmp) / "model", target, last=("saved_model.pb",))
        return target
    base_dir = Path(base)
    base_dir.mkdir(parents=True, exist_ok=True)
    staging = base_dir / f".{version}.tmp-{uuid.uuid4().hex}"  # not all digits: not a version
    try:
        save(staging, favoured)
        os.rename(staging, base_dir / str(version))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return str(base_dir / str(version))
