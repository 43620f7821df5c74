"""The two Keras models of the original example: a small CNN and a linear classifier.

Both take flat images (float32 [N, 784], values 0..1) and return 10 logits; the softmax is
applied by the loss during training and by the serving signature at export.
"""

from __future__ import annotations

import keras

from model.contract import IMAGE_PIXELS, IMAGE_SIDE, INPUT_KEY, MODEL_TYPES, NUM_CLASSES


def build_cnn() -> keras.Model:
    """Two 5x5 conv + 2x2 max-pool layers (32, 64 filters), dense 1024 with dropout, logits."""
    return keras.Sequential(
        [
            keras.Input(shape=(IMAGE_PIXELS,), name=INPUT_KEY),
            keras.layers.Reshape((IMAGE_SIDE, IMAGE_SIDE, 1)),
            keras.layers.Conv2D(32, 5, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 5, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(1024, activation="relu"),
            keras.layers.Dropout(0.5),  # the original's rate; active in training only
            keras.layers.Dense(NUM_CLASSES, name="logits"),
        ],
        name="cnn",
    )


def build_linear() -> keras.Model:
    """Multinomial logistic regression: one dense layer from 784 pixels to 10 logits."""
    return keras.Sequential(
        [
            keras.Input(shape=(IMAGE_PIXELS,), name=INPUT_KEY),
            keras.layers.Dense(NUM_CLASSES, name="logits"),
        ],
        name="linear",
    )


def build(model_type: str) -> keras.Model:
    """The model named by ``--tf-model-type``."""
    builders = {"cnn": build_cnn, "linear": build_linear}
    if model_type not in builders:
        raise ValueError(f"model type {model_type!r} is not one of {', '.join(MODEL_TYPES)}")
    return builders[model_type]()
