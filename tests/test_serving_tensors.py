"""serving.tensors: request tensors checked against the signature; responses in typed fields."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

# Importing TensorFlow takes seconds: the whole module is slow, and imports it only inside
# tests and helpers so that collecting it for a fast run stays fast.
pytestmark = pytest.mark.slow

SIG = "serving_default"


def tensor_info(dtype: int, dims: list[int]):
    from tensorflow.core.protobuf import meta_graph_pb2

    info = meta_graph_pb2.TensorInfo(dtype=dtype, name="x:0")
    for size in dims:
        info.tensor_shape.dim.add(size=size)
    return info


def signature():
    """The contract's signature: x float [-1, 784]."""
    from tensorflow.core.framework import types_pb2
    from tensorflow.core.protobuf import meta_graph_pb2

    signature_def = meta_graph_pb2.SignatureDef(method_name="tensorflow/serving/predict")
    signature_def.inputs["x"].CopyFrom(tensor_info(types_pb2.DT_FLOAT, [-1, 784]))
    signature_def.outputs["classes"].CopyFrom(tensor_info(types_pb2.DT_INT64, [-1]))
    return signature_def


def float_val_proto(shape: list[int], values: list[float]):
    from tensorflow.core.framework import tensor_pb2, types_pb2

    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=values)
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    return proto


def rejected(call):
    """The INVALID_ARGUMENT error *call* raises."""
    __tracebackhide__ = True
    from serving.errors import ServingError

    with pytest.raises(ServingError) as raised:
        call()
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT, raised.value
    return raised.value


def test_a_float_val_request_becomes_an_array() -> None:
    from serving import tensors

    values = np.linspace(0, 1, 2 * 784, dtype=np.float32)
    arrays = tensors.request_arrays(
        {"x": float_val_proto([2, 784], values.tolist())}, signature(), SIG
    )
    np.testing.assert_array_equal(arrays["x"], values.reshape(2, 784))


def test_a_tensor_content_request_becomes_an_array() -> None:
    import tensorflow as tf

    from serving import tensors

    values = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    arrays = tensors.request_arrays({"x": tf.make_tensor_proto(values)}, signature(), SIG)
    np.testing.assert_array_equal(arrays["x"], values)


def test_wrong_dtype_names_both_dtypes() -> None:
    import tensorflow as tf

    from serving import tensors

    proto = tf.make_tensor_proto(np.zeros((1, 784), np.float64))
    error = rejected(lambda: tensors.request_arrays({"x": proto}, signature(), SIG))
    assert "input 'x' has dtype DT_DOUBLE but signature 'serving_default' expects DT_FLOAT" in (
        error.message
    )


@pytest.mark.parametrize(
    ("shape", "shown"),
    [([1, 100], "[1, 100]"), ([784], "[784]"), ([1, 28, 28], "[1, 28, 28]")],
)
def test_wrong_shape_names_both_shapes(shape: list[int], shown: str) -> None:
    from serving import tensors

    proto = float_val_proto(shape, [0.0])
    error = rejected(lambda: tensors.request_arrays({"x": proto}, signature(), SIG))
    assert f"input 'x' has shape {shown} but signature 'serving_default' expects [-1, 784]" in (
        error.message
    )


def test_a_request_shape_must_be_fully_defined() -> None:
    from serving import tensors

    error = rejected(
        lambda: tensors.request_arrays({"x": float_val_proto([-1, 784], [0.0])}, signature(), SIG)
    )
    assert "must be fully defined" in error.message


def test_missing_and_extra_inputs_get_tf_servings_message() -> None:
    from serving import tensors

    proto = float_val_proto([1, 784], [0.0])
    error = rejected(lambda: tensors.request_arrays({"images": proto}, signature(), SIG))
    assert error.message == (
        "input size does not match signature: 1!=1 len({images}) != len({x})."
        " Sent extra: {images}. Missing but required: {x}."
    )
    rejected(lambda: tensors.request_arrays({}, signature(), SIG))


def test_more_values_than_the_shape_holds_is_rejected() -> None:
    from serving import tensors

    error = rejected(
        lambda: tensors.request_arrays(
            {"x": float_val_proto([1, 784], [0.5] * 785)}, signature(), SIG
        )
    )
    assert "values do not fill its shape [1, 784]" in error.message


def test_fewer_values_repeat_the_last_as_tensorflow_does() -> None:
    from serving import tensors

    arrays = tensors.request_arrays({"x": float_val_proto([2, 784], [0.25])}, signature(), SIG)
    assert arrays["x"].shape == (2, 784)
    assert np.all(arrays["x"] == 0.25)


def test_json_values_are_converted_to_the_signature_dtype_and_checked() -> None:
    from serving import tensors

    info = signature().inputs["x"]
    array = tensors.json_array("x", [[1] * 784], info, SIG)
    assert array.dtype == np.float32
    assert array.shape == (1, 784)
    assert (
        "is not a rectangular list of numbers"
        in rejected(lambda: tensors.json_array("x", [[0.0] * 784, [0.0]], info, SIG)).message
    )
    assert (
        "is not a rectangular list of numbers"
        in rejected(lambda: tensors.json_array("x", [["a"] * 784], info, SIG)).message
    )
    assert (
        "expects [-1, 784]"
        in rejected(lambda: tensors.json_array("x", [[0.0] * 3], info, SIG)).message
    )


def test_outputs_use_typed_fields_like_tf_serving() -> None:
    import tensorflow as tf
    from tensorflow.core.framework import types_pb2

    from serving import tensors

    probabilities = np.array([[0.25, 0.75], [1.0, 0.0]], np.float32)
    proto = tensors.output_proto(probabilities)
    assert proto.dtype == types_pb2.DT_FLOAT
    assert [d.size for d in proto.tensor_shape.dim] == [2, 2]
    assert list(proto.float_val) == [0.25, 0.75, 1.0, 0.0]
    assert not proto.tensor_content
    np.testing.assert_array_equal(tf.make_ndarray(proto), probabilities)

    classes = tensors.output_proto(np.array([3, 7], np.int64))
    assert classes.dtype == types_pb2.DT_INT64
    assert list(classes.int64_val) == [3, 7]
