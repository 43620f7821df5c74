"""The MNIST test digits the UI shows, and their PNG rendering."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from flask import Flask, current_app

from model import digit_image
from model.data import load_test_digits


class DigitSet:
    """The test images (float32 [N, 784] in 0..1) and labels, loaded once at start."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images = images
        self.labels = labels

    @classmethod
    def load(cls, data_dir: Path | None) -> DigitSet:
        """Read the t10k files from *data_dir* (default: the shipped sample).

        A missing or corrupt file raises an error naming it.
        """
        images, labels = load_test_digits(data_dir)
        return cls(images, labels)

    def init_app(self, app: Flask) -> None:
        """Attach to *app*: views find this with :func:`digit_set`."""
        app.extensions["mnist_digits"] = self

    def __len__(self) -> int:
        return len(self.labels)

    @functools.lru_cache(maxsize=1024)  # noqa: B019 - one DigitSet per process, never freed
    def png(self, index: int) -> bytes:
        """Digit *index* as a 28x28 8-bit grayscale PNG (white on black, as in MNIST)."""
        return digit_image.png(self.images[index])


def digit_set() -> DigitSet:
    """The current app's :class:`DigitSet`."""
    return current_app.extensions["mnist_digits"]
