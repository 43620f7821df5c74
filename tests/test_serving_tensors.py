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
    from serving.status_errors import ServingError

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

    # The contract's uint8 classes: in int_val, where the original example's web UI reads them.
    classes = tensors.output_proto(np.array([3, 7], np.uint8))
    assert classes.dtype == types_pb2.DT_UINT8
    assert list(classes.int_val) == [3, 7]
    assert not classes.tensor_content


# -- sizes: checked on the declared shape, before anything is allocated ------------------------


def test_tensor_content_must_hold_exactly_the_shapes_bytes() -> None:
    from tensorflow.core.framework import tensor_pb2, types_pb2

    from serving import tensors

    for size in (784 * 4 - 1, 784 * 4 + 4, 3):
        proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_content=b"\0" * size)
        proto.tensor_shape.dim.add(size=1)
        proto.tensor_shape.dim.add(size=784)
        error = rejected(lambda proto=proto: tensors.request_arrays({"x": proto}, signature(), SIG))
        assert error.message == (
            f"input 'x': its values do not fill its shape [1, 784]: tensor_content holds {size}"
            " bytes, the shape needs 3136 (784 x 4-byte DT_FLOAT); send exactly the shape's values"
        )


@pytest.mark.parametrize("rows", [20_000, 10**9, 2**62])
def test_a_few_bytes_declaring_a_huge_batch_are_refused_without_allocating(rows: int) -> None:
    """The probe's 37-byte request: shape [rows, 784], one value (TensorFlow would repeat it)."""
    import tracemalloc

    from serving import tensors

    proto = float_val_proto([rows, 784], [0.5])
    tracemalloc.start()
    try:
        error = rejected(lambda: tensors.request_arrays({"x": proto}, signature(), SIG))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.message == (
        f"input 'x' has {rows} rows (shape [{rows}, 784]), over this server's limit of 10000"
        " rows a request (--max_request_rows); split the batch"
    )
    assert peak < 1024 * 1024, f"{peak} bytes allocated to refuse it"


def test_the_limits_are_the_servers_flags() -> None:
    from serving import tensors
    from serving.limits import RequestLimits

    limits = RequestLimits(max_rows=2, max_bytes=784 * 4)
    assert tensors.request_arrays(
        {"x": float_val_proto([1, 784], [0.5])}, signature(), SIG, limits
    )["x"].shape == (1, 784)
    assert (
        "(--max_request_rows)"
        in rejected(
            lambda: tensors.request_arrays(
                {"x": float_val_proto([3, 784], [0.5])}, signature(), SIG, limits
            )
        ).message
    )
    assert "is 6272 bytes, over this server's limit of 3136 bytes a request (--max_request_bytes)" in rejected(
        lambda: tensors.request_arrays({"x": float_val_proto([2, 784], [0.5])}, signature(), SIG, limits)
    ).message  # fmt: skip


def test_an_empty_batch_is_refused_with_a_message_a_client_can_act_on() -> None:
    """TF Serving hands [0, 784] to the model, whose graph fails with internals ("input depth
    must be evenly divisible by filter depth" for the CNN); the same code, said plainly."""
    import tensorflow as tf

    from serving import tensors

    for proto in (
        float_val_proto([0, 784], []),
        tf.make_tensor_proto(np.zeros((0, 784), np.float32)),
    ):
        error = rejected(lambda proto=proto: tensors.request_arrays({"x": proto}, signature(), SIG))
        assert error.message == (
            "input 'x' has shape [0, 784]: an empty batch; send at least one instance"
        )


def _proto_strategy():
    from hypothesis import strategies as st

    dims = st.lists(
        st.one_of(st.integers(-2, 3), st.just(784), st.just(10**9), st.just(2**62)), max_size=3
    )
    return st.tuples(
        dims,
        st.booleans(),  # tensor_content, or float_val
        st.integers(0, 3 * 784),  # how many values
        st.sampled_from([1, 2, 9]),  # DT_FLOAT, DT_DOUBLE, DT_INT64
        st.booleans(),  # unknown rank
    )


def test_any_request_tensor_is_an_array_of_its_shape_or_invalid_argument() -> None:
    from hypothesis import example, given
    from tensorflow.core.framework import tensor_pb2

    from serving import tensors
    from serving.status_errors import ServingError

    @given(_proto_strategy())
    @example(([20_000, 784], False, 1, 1, False))
    @example(([1, 784], True, 783, 1, False))
    @example(([0, 784], False, 0, 1, False))
    def check(case) -> None:
        dims, packed, count, dtype, unknown_rank = case
        proto = tensor_pb2.TensorProto(dtype=dtype)
        proto.tensor_shape.unknown_rank = unknown_rank
        for size in dims:
            proto.tensor_shape.dim.add(size=size)
        if packed:
            proto.tensor_content = b"\x01" * (count * 4)
        else:
            proto.float_val.extend([0.25] * count)
        try:
            array, error = tensors.request_arrays({"x": proto}, signature(), SIG)["x"], None
        except ServingError as refusal:
            array, error = None, refusal
        if error is not None:
            assert error.code == grpc.StatusCode.INVALID_ARGUMENT, error
            return
        assert array.shape == tuple(dims) and array.dtype == np.float32 and array.shape[0] > 0

    check()
