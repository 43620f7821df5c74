"""tf_serving_api.tensor_util: the same TensorProto bytes and arrays as TensorFlow's own pair."""

from __future__ import annotations

import numpy as np
import pytest

from tf_serving_api.protos import tensor_pb2, types_pb2
from tf_serving_api.tensor_util import (
    datatype_name,
    make_ndarray,
    make_tensor_proto,
    numpy_dtype,
    typed_tensor_proto,
)

NUMERIC = [
    np.float32,
    np.float64,
    np.float16,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.bool_,
]
# Scalar, one value (typed field), several (packed), matrices, and empty ones.
SHAPES = [(), (1,), (3,), (2, 3), (1, 784), (0,), (2, 0)]


def sample(dtype, shape) -> np.ndarray:
    values = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    if dtype is np.bool_:
        return values % 2 == 1
    if np.issubdtype(dtype, np.floating):
        return (values / 7 - 1).astype(dtype)
    return (values % 100).astype(dtype)


STRINGS = [
    np.array(["not a digit"] * 3),  # numpy str_: what the e2e suite sends as a bad input
    np.array([b"raw", b"\x00\xffbytes"]),
    np.array([["a", "bc"], ["déf", ""]]),
    np.array(["one"]),
    np.array("scalar"),
    np.array([b"x", "y"], dtype=object),
]
ALL = [sample(dtype, shape) for dtype in NUMERIC for shape in SHAPES] + STRINGS
IDS = [f"{a.dtype}-{list(a.shape)}" for a in ALL]


@pytest.mark.slow
@pytest.mark.parametrize("array", ALL, ids=IDS)
def test_proto_bytes_equal_tensorflows(array: np.ndarray) -> None:
    import tensorflow as tf

    ours = make_tensor_proto(array)
    assert ours.SerializeToString() == tf.make_tensor_proto(array).SerializeToString()


@pytest.mark.slow
@pytest.mark.parametrize("array", ALL, ids=IDS)
def test_arrays_equal_tensorflows(array: np.ndarray) -> None:
    import tensorflow as tf

    proto = tf.make_tensor_proto(array)
    expected = tf.make_ndarray(proto)
    got = make_ndarray(proto)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("datatype", "field", "values", "shape"),
    [
        (types_pb2.DT_FLOAT, "float_val", [0.5], [2, 3]),  # one value fills the shape
        (types_pb2.DT_INT64, "int64_val", [1, 2], [4]),  # the last value repeats
        (types_pb2.DT_INT32, "int_val", [], [2]),  # no value: zeros
        (types_pb2.DT_BOOL, "bool_val", [True], [3]),
        (types_pb2.DT_STRING, "string_val", [b"a", b"b"], [3]),
        (types_pb2.DT_STRING, "string_val", [], [2]),
        (types_pb2.DT_HALF, "half_val", [15360], [2]),  # 1.0 as float16 bits
    ],
)
def test_typed_field_shorthand_is_tensorflows(datatype, field, values, shape) -> None:
    import tensorflow as tf

    proto = tensor_pb2.TensorProto(dtype=datatype, **{field: values})
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    expected = tf.make_ndarray(proto)
    got = make_ndarray(proto)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.slow
@pytest.mark.parametrize(
    "proto",
    [
        # 5 bytes are not a whole number of float32s
        tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_content=b"\x00" * 5),
        # 8 packed values for a shape of 3
        tensor_pb2.TensorProto(
            dtype=types_pb2.DT_INT32,
            tensor_content=np.arange(8, dtype=np.int32).tobytes(),
            tensor_shape={"dim": [{"size": 3}]},
        ),
        # more typed values than the shape holds
        tensor_pb2.TensorProto(
            dtype=types_pb2.DT_FLOAT, float_val=[1, 2, 3], tensor_shape={"dim": [{"size": 2}]}
        ),
    ],
    ids=["ragged content", "too much content", "too many values"],
)
def test_values_that_do_not_fill_the_shape_raise_value_error_like_tensorflow(proto) -> None:
    import tensorflow as tf

    def raised(convert) -> type[BaseException] | None:
        try:
            convert(proto)
        except Exception as exc:
            return type(exc)
        return None

    assert raised(tf.make_ndarray) is raised(make_ndarray) is ValueError


@pytest.mark.parametrize("array", ALL, ids=IDS)
def test_round_trip(array: np.ndarray) -> None:
    back = make_ndarray(make_tensor_proto(array))
    if array.dtype.kind in "USO":
        expected = np.vectorize(lambda s: s if isinstance(s, bytes) else s.encode())(array)
        assert back.dtype == object
        assert back.tolist() == (expected.tolist() if array.size else [])
    else:
        assert back.dtype == array.dtype
        np.testing.assert_array_equal(back, array)


def test_big_tensors_are_packed_small_ones_typed() -> None:
    images = np.zeros((2, 784), np.float32)
    assert len(make_tensor_proto(images).tensor_content) == images.nbytes
    one = make_tensor_proto(np.array([0.25], np.float32))
    assert list(one.float_val) == [0.25]
    assert not one.tensor_content


def test_unsupported_dtypes_are_named() -> None:
    with pytest.raises(TypeError, match="complex64"):
        make_tensor_proto(np.zeros(2, np.complex64))
    with pytest.raises(TypeError, match="DT_COMPLEX64"):
        make_ndarray(tensor_pb2.TensorProto(dtype=types_pb2.DT_COMPLEX64))
    with pytest.raises(TypeError, match="int"):
        make_tensor_proto(np.array([1, "a"], dtype=object))


def test_numpy_dtypes_and_names() -> None:
    assert numpy_dtype(types_pb2.DT_FLOAT) == np.float32
    assert numpy_dtype(types_pb2.DT_STRING) == np.dtype(object)
    assert datatype_name(types_pb2.DT_INT64) == "DT_INT64"
    assert datatype_name(9999) == "9999"
    with pytest.raises(TypeError, match="DT_RESOURCE"):
        numpy_dtype(types_pb2.DT_RESOURCE)


NUMBERS = [sample(dtype, shape) for dtype in NUMERIC for shape in SHAPES]


@pytest.mark.slow
@pytest.mark.parametrize("array", NUMBERS, ids=[f"{a.dtype}-{list(a.shape)}" for a in NUMBERS])
def test_typed_protos_never_pack_and_tensorflow_reads_them_back(array: np.ndarray) -> None:
    """TF Serving's answers: every value in the typed field, which TensorFlow reads as well."""
    import tensorflow as tf

    proto = typed_tensor_proto(array)

    assert not proto.tensor_content
    read = tf.make_ndarray(proto)
    assert read.dtype == array.dtype
    np.testing.assert_array_equal(read, array)


@pytest.mark.parametrize(
    ("dtype", "field"),
    [
        (np.uint8, "int_val"),  # the contract's classes, read by the original web UI as int_val
        (np.int8, "int_val"),
        (np.int16, "int_val"),
        (np.uint16, "int_val"),
        (np.int32, "int_val"),
        (np.int64, "int64_val"),
        (np.uint32, "uint32_val"),
        (np.uint64, "uint64_val"),
        (np.float32, "float_val"),
        (np.float64, "double_val"),
    ],
)
def test_typed_protos_use_the_field_tensorflow_keeps_each_dtype_in(dtype, field) -> None:
    proto = typed_tensor_proto(np.array([3, 7, 1], dtype))
    assert list(getattr(proto, field)) == [3, 7, 1]
    assert make_ndarray(proto).dtype == np.dtype(dtype)
