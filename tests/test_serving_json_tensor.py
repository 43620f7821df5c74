"""serving.json_tensor: JSON inputs become arrays by TF Serving's rules (json_tensor.cc) — no
booleans or out-of-range numbers as floats, rectangular lists only — and nothing a client
sends makes it fail with anything but INVALID_ARGUMENT."""

from __future__ import annotations

import math

import grpc
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from serving.json_tensor import decode
from serving.limits import RequestLimits
from serving.status_errors import ServingError

SIG = "serving_default"
F32 = np.dtype(np.float32)
IMAGE = [-1, 784]


DEFAULT = RequestLimits()


def floats(value, dims=IMAGE, limits=DEFAULT):
    return decode("x", value, F32, "DT_FLOAT", dims, SIG, limits)


def refused(call, code=grpc.StatusCode.INVALID_ARGUMENT) -> str:
    __tracebackhide__ = True
    with pytest.raises(ServingError) as raised:
        call()
    assert raised.value.code == code, raised.value
    return raised.value.message


def test_numbers_become_float32_rows() -> None:
    array = floats([[0.5] * 783 + [1], [0] * 784])
    assert array.dtype == np.float32 and array.shape == (2, 784)
    assert array[0, 0] == 0.5 and array[0, -1] == 1.0


@pytest.mark.parametrize(
    ("leaf", "shown"),
    [(True, "true (a JSON boolean)"), (False, "false (a JSON boolean)"), ("0.5", '"0.5" (a JSON string)'), (None, "null"), ({}, "an object"), ([0.5], "a list")],
)  # fmt: skip
def test_only_numbers_are_float_input(leaf, shown) -> None:
    message = refused(lambda: floats([[0.0] * 700 + [leaf] + [0.0] * 83]))
    assert message.startswith(
        "input 'x': JSON value is not a rectangular list of numbers of type DT_FLOAT:"
    )
    assert f"{shown} at [0][700]; send numbers" in message


@pytest.mark.parametrize("leaf", [1e39, -1e39, 3.5e38, 16777216, -16777216, 2**63])
def test_values_a_float_cannot_hold_are_refused(leaf) -> None:
    message = refused(lambda: floats([[0.0] * 783 + [leaf]]))
    assert "at [0][783] cannot be converted to DT_FLOAT without loss of precision" in message


@pytest.mark.parametrize(
    "leaf",
    [16777215, -16777215, 16777216.0, 3.4e38, math.inf, -math.inf, 2**64, 2**70, 1e-50],
)
def test_values_tf_serving_accepts_as_float(leaf) -> None:
    """Including its quirks: an integer past uint64 is read as a decimal, and NaN/Infinity pass."""
    array = floats([[leaf] + [0.0] * 783])
    assert array[0, 0] == np.float32(leaf)
    assert np.isnan(floats([[math.nan] + [0.0] * 783])[0, 0])


def test_a_double_holds_integers_to_2_53() -> None:
    f64 = np.dtype(np.float64)
    assert decode("x", [2**53 - 1], f64, "DT_DOUBLE", [-1], SIG)[0] == 2**53 - 1
    assert "without loss of precision" in refused(
        lambda: decode("x", [2**53], f64, "DT_DOUBLE", [-1], SIG)
    )


def test_a_ragged_list_names_where() -> None:
    message = refused(lambda: floats([[0.0] * 784, [0.0] * 783]))
    assert message == (
        "input 'x': JSON value is not a rectangular list of numbers: the list at [1] has 783"
        " values where 784 belong (the first elements give shape [2, 784])"
    )
    assert "the list at [1] is 0.0 where 784 belong" in refused(lambda: floats([[0.0] * 784, 0.0]))


def test_a_wrong_shape_names_both_shapes() -> None:
    assert refused(lambda: floats([[0.0] * 10])).startswith(
        "input 'x' has shape [1, 10] but signature 'serving_default' expects [-1, 784]"
    )
    assert "has shape [784]" in refused(lambda: floats([0.0] * 784))


def test_nesting_deeper_than_the_shape_stops_at_once() -> None:
    value: list = [0.0]
    for _ in range(100_000):  # deeper than any recursion limit: nothing here recurses
        value = [value]
    assert "has shape [1, 1, 1] but signature" in refused(lambda: floats(value))
    assert "nested deeper than 32 levels" in refused(lambda: floats(value, dims=None))


def test_an_empty_batch_is_refused_saying_what_to_send() -> None:
    message = refused(lambda: decode("x", [], F32, "DT_FLOAT", [-1], SIG))
    assert message == "input 'x' has shape [0]: an empty batch; send at least one instance"


def test_the_limits_are_checked_on_the_shape_before_the_values() -> None:
    limits = RequestLimits(max_rows=3, max_bytes=10 * 784 * 4)
    assert floats([[0.0] * 784] * 3, limits=limits).shape == (3, 784)
    message = refused(lambda: floats([[True] * 784] * 4, limits=limits))  # rows first
    assert message == (
        "input 'x' has 4 rows (shape [4, 784]), over this server's limit of 3 rows a request"
        " (--max_request_rows); split the batch"
    )
    small = RequestLimits(max_rows=100, max_bytes=784 * 4)
    assert "is 6272 bytes, over this server's limit of 3136 bytes a request" in refused(
        lambda: floats([[0.0] * 784] * 2, limits=small)
    )


@pytest.mark.parametrize(
    ("dtype", "label", "good", "bad"),
    [
        (np.int32, "DT_INT32", [1, -2, 2**31 - 1], [[1.5], [True], [2**31], ["1"]]),
        (np.int64, "DT_INT64", [2**63 - 1, -(2**63)], [[2**63], [1.0]]),
        (np.uint8, "DT_UINT8", [0, 255], [[0.5], [2**31]]),
        (np.uint64, "DT_UINT64", [2**64 - 1], [[-1], [2**64]]),
        (np.bool_, "DT_BOOL", [True, False], [[1], [0.0], ["true"]]),
    ],
)
def test_other_dtypes_take_their_own_json_type(dtype, label, good, bad) -> None:
    array = decode("v", good, np.dtype(dtype), label, [-1], SIG)
    assert array.dtype == dtype and array.tolist() == good
    for value in bad:
        refused(lambda value=value: decode("v", value, np.dtype(dtype), label, [-1], SIG))


def test_strings_take_text_and_base64() -> None:
    array = decode("s", ["héllo", {"b64": "aGk="}], np.dtype(object), "DT_STRING", [-1], SIG)
    assert array.tolist() == ["héllo".encode(), b"hi"]
    assert "unable to base64 decode" in refused(
        lambda: decode("s", [{"b64": "!!"}], np.dtype(object), "DT_STRING", [-1], SIG)
    )


def test_a_dtype_json_cannot_carry_is_unimplemented() -> None:
    refused(
        lambda: decode("h", [1.0], np.dtype(np.complex64), "DT_COMPLEX64", [-1], SIG),
        grpc.StatusCode.UNIMPLEMENTED,
    )


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=2),
    max_leaves=40,
)  # fmt: skip
DTYPES = st.sampled_from(
    [(np.float32, "DT_FLOAT"), (np.float64, "DT_DOUBLE"), (np.int32, "DT_INT32"),
     (np.int64, "DT_INT64"), (np.uint8, "DT_UINT8"), (np.bool_, "DT_BOOL"),
     (object, "DT_STRING")]
)  # fmt: skip
DIMS = st.none() | st.lists(st.sampled_from([-1, 1, 2, 3]), max_size=3)


@given(value=JSON, dtype=DTYPES, dims=DIMS)
@example(value=[[True, 1.0]], dtype=(np.float32, "DT_FLOAT"), dims=[-1, 2])
@example(value=[[1e39]], dtype=(np.float32, "DT_FLOAT"), dims=[-1, 1])
@example(value=[2**70], dtype=(np.int64, "DT_INT64"), dims=[-1])
def test_any_json_value_is_an_array_of_the_signature_or_invalid_argument(value, dtype, dims):
    numpy_dtype, label = np.dtype(dtype[0]), dtype[1]
    try:
        array, error = decode("x", value, numpy_dtype, label, dims, SIG), None
    except ServingError as refusal:
        array, error = None, refusal
    if error is not None:
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT, error
        assert error.message.startswith("input 'x'"), error.message
        return
    assert array.dtype == numpy_dtype
    if dims is not None:
        assert len(array.shape) == len(dims)
        assert all(want < 0 or got == want for got, want in zip(array.shape, dims, strict=True))
    assert array.ndim == 0 or array.shape[0] > 0, "an empty batch is refused"


@given(
    hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=2, max_dims=2, max_side=20),
        elements=st.floats(width=32, allow_nan=False),
    )
)
def test_float32_rows_round_trip_through_json_numbers(array: np.ndarray) -> None:
    decoded = decode("x", array.tolist(), F32, "DT_FLOAT", [-1, array.shape[1]], SIG)
    np.testing.assert_array_equal(decoded, array)
