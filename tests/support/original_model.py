"""A SavedModel exported the way the Kubeflow example's ``model.py`` exported its own.

Test-only, to check that this project's web UI and e2e assertions work against the original's
export, not only against this project's. What is the original's here is the interface a client
sees: ``x`` float32 declared [None, 28, 28]; ``classes`` uint8 [None] (its cast) and
``predictions`` float32 [None, 10] (softmax); the same outputs under two Predict signatures,
``serving_default`` and ``classes``. The weights are a linear model trained here for a few
seconds on the shipped MNIST sample (about 0.9 accuracy), so a right digit can be told from a
wrong one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np

from model.contract import (
    IMAGE_PIXELS,
    IMAGE_SIDE,
    INPUT_KEY,
    NUM_CLASSES,
    OUTPUT_CLASSES,
    OUTPUT_PREDICTIONS,
    SIGNATURES,
)

EPOCHS: Final = 3


def trained_linear_weights() -> tuple[np.ndarray, np.ndarray]:
    """(W [784, 10], b [10]) of a linear model fitted to the shipped sample's training digits."""
    import keras

    from model.data import load_mnist
    from model.networks import build_linear

    keras.utils.set_random_seed(0)
    mnist = load_mnist()
    model = build_linear()
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(mnist.train_images, mnist.train_labels, epochs=EPOCHS, batch_size=100, verbose=0)
    kernel, bias = model.get_layer("logits").get_weights()
    return kernel, bias


def save(directory: Path) -> None:
    """Write the original-style SavedModel into *directory* (which must not exist yet)."""
    import tensorflow as tf

    kernel, bias = trained_linear_weights()

    class OriginalStyle(tf.Module):
        def __init__(self) -> None:
            super().__init__(name="original_style")
            self.w = tf.Variable(kernel, trainable=False, name="w")
            self.b = tf.Variable(bias, trainable=False, name="b")

        @tf.function(
            input_signature=[tf.TensorSpec([None, IMAGE_SIDE, IMAGE_SIDE], tf.float32, INPUT_KEY)]
        )
        def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            logits = tf.matmul(tf.reshape(x, [-1, IMAGE_PIXELS]), self.w) + self.b
            probabilities = tf.nn.softmax(logits)
            classes = tf.cast(tf.argmax(logits, axis=1), tf.uint8)
            return {OUTPUT_CLASSES: classes, OUTPUT_PREDICTIONS: probabilities}

    module = OriginalStyle()
    serve = module.serve.get_concrete_function()
    assert serve.structured_outputs[OUTPUT_PREDICTIONS].shape.as_list() == [None, NUM_CLASSES]
    tf.saved_model.save(module, str(directory), signatures=dict.fromkeys(SIGNATURES, serve))


def export(base: Path, version: int) -> Path:
    """Write version *version* under *base*; return its directory."""
    base.mkdir(parents=True, exist_ok=True)
    staging = base / f".{version}.tmp"  # not all digits: a server does not take it for a version
    save(staging)
    final = base / str(version)
    staging.rename(final)
    return final
