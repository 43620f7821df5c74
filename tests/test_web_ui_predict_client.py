"""web_ui.predict_client: the request shape read from the served signature (GetModelMetadata).

The calls themselves are tested against the real model server (tests/test_web_ui_app.py for
this project's export, tests/test_original_export.py for the original example's).
"""

from __future__ import annotations

import numpy as np
import pytest

from tf_serving_api.protos import get_model_metadata_pb2, types_pb2
from web_ui.predict_client import image_tensor, served_image_shape, tensor_array


def signature_map(dims: list[int] | None, key: str = "serving_default", name: str = "x"):
    """A SignatureDefMap whose *key* takes float input *name* of *dims* (None: unknown rank)."""
    signatures = get_model_metadata_pb2.SignatureDefMap()
    info = signatures.signature_def[key].inputs[name]
    info.dtype = types_pb2.DT_FLOAT
    if dims is None:
        info.tensor_shape.unknown_rank = True
    else:
        for size in dims:
            info.tensor_shape.dim.add(size=size)
    return signatures


@pytest.mark.parametrize(
    ("dims", "image_shape"),
    [
        (None, (784,)),  # this project's export: takes both, flat is its own
        ([-1, 784], (784,)),  # this project's export before it took both
        ([-1, 28, 28], (28, 28)),  # the original example's export
    ],
)
def test_requests_take_the_shape_the_signature_declares(dims, image_shape) -> None:
    assert served_image_shape(signature_map(dims)) == image_shape


@pytest.mark.parametrize(
    ("signatures", "message"),
    [
        (signature_map([-1, 10]), r"takes 'x' as \[-1, 10\], not a batch of MNIST images"),
        (signature_map([-1, 28, 28, 1]), r"as \[-1, 28, 28, 1\]"),
        (signature_map(None, key="other"), "no 'serving_default' signature .it has other"),
        (signature_map(None, name="images"), "has no input 'x' .inputs: images"),
    ],
)
def test_a_signature_that_takes_no_mnist_images_is_named(signatures, message) -> None:
    with pytest.raises(ValueError, match=message):
        served_image_shape(signatures)


def test_images_go_out_in_the_shape_asked_for() -> None:
    images = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    square = tensor_array(image_tensor(images, (28, 28)))
    assert square.shape == (3, 28, 28)
    np.testing.assert_array_equal(square.reshape(3, 784), images)
    assert tensor_array(image_tensor(images)).shape == (3, 784)
