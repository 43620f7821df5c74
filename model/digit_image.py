"""An MNIST digit as a picture: the one PNG rendering the web UI serves and the run report
embeds."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from model.contract import IMAGE_SIDE


def png(pixels: np.ndarray) -> bytes:
    """A digit (784 values in 0..1) as a 28x28 8-bit grayscale PNG, white on black as in
    MNIST."""
    grey = np.round(np.asarray(pixels).reshape(IMAGE_SIDE, IMAGE_SIDE) * 255)
    buffer = io.BytesIO()
    # A 2-D uint8 array becomes an 8-bit grayscale ("L") image.
    Image.fromarray(grey.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
