"""REST (JSON) input values to request arrays, by TF Serving's JSON rules. No TensorFlow.

The rules are TF Serving's (``tensorflow_serving/util/json_tensor.cc``): a float input takes
JSON numbers only — not booleans, strings or null — and only values the type holds: integers
up to 2**24 - 1 in magnitude (2**53 - 1 for double), decimals within its range (``1e39`` is not
a float); NaN and Infinity are accepted. Integer inputs take JSON integers, bool inputs
``true``/``false``, string inputs strings or ``{"b64": "..."}``. The lists must nest exactly as
deep as the shape and be rectangular. The messages are this server's own: they name the
input, where in it the bad value sits, and what the signature takes.

Nothing here recurses, so no nesting depth can overflow the stack, and the declared shape
passes the request limits before any array is allocated.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any, Final

import grpc
import numpy as np

from serving.limits import DEFAULT_LIMITS, RequestLimits, check_batch
from serving.shapes import check_shape
from serving.status_errors import ServingError, invalid_argument

MAX_RANK: Final = 32  # numpy's; a signature of unknown rank still bounds the walk
# rapidjson keeps an integer literal as an integer when it fits int64 or uint64; beyond that
# it becomes a double, and TF Serving then checks it as a decimal.
_INTEGER_LITERALS: Final = (-(2**63), 2**64 - 1)
# Integers a float type holds exactly (TF Serving's kMaxInt: 2**digits - 1).
_EXACT_INTEGERS: Final = {np.dtype(np.float32): 2**24 - 1, np.dtype(np.float64): 2**53 - 1}
# Ranges TF Serving checks JSON integers against (IsInt/IsInt64/IsUint/IsUint64); narrower
# types are then cast from int32, as TensorFlow casts the proto's int_val.
_INT32 = (-(2**31), 2**31 - 1)
_INTEGER_RANGES: Final = {
    np.dtype(np.int8): _INT32,
    np.dtype(np.int16): _INT32,
    np.dtype(np.int32): _INT32,
    np.dtype(np.uint8): _INT32,
    np.dtype(np.int64): (-(2**63), 2**63 - 1),
    np.dtype(np.uint32): (0, 2**32 - 1),
    np.dtype(np.uint64): (0, 2**64 - 1),
}
_STRING: Final = np.dtype(object)


def dense_shape(name: str, value: Any, rank: int | None) -> list[int]:
    """The shape *value* declares by its first elements (as TF Serving reads it).

    The walk stops one level below *rank* (or at :data:`MAX_RANK`): a deeper value does not
    fit, and the shape found so far is enough to say so.
    """
    limit = MAX_RANK if rank is None else rank + 1
    shape: list[int] = []
    node = value
    while isinstance(node, list):
        if len(shape) == limit:
            if rank is None:
                raise invalid_argument(
                    f"input {name!r}: JSON lists nested deeper than {MAX_RANK} levels"
                )
            break
        shape.append(len(node))
        if not node:
            break
        node = node[0]
    return shape


def _position(flat_index: int, dims: Sequence[int]) -> str:
    """``[2][17]``: where the *flat_index*-th node of a level below *dims* sits ("" at the top)."""
    if not dims:
        return ""
    return "".join(f"[{i}]" for i in np.unravel_index(flat_index, tuple(dims)))


def _where(row: int, column: int, shape: Sequence[int]) -> str:
    """Where leaf *column* of the *row*-th innermost list sits: ``[3][700]``."""
    return f"{_position(row, shape[:-1])}[{column}]" if shape else "the top level"


def _shown(value: Any) -> str:
    text = (
        json.dumps(value)
        if isinstance(value, (bool, int, float, str, type(None)))
        else ("an object" if isinstance(value, dict) else "a list")
    )
    return text if len(text) <= 40 else f"{text[:40]}…"


def _leaf_lists(name: str, value: Any, shape: Sequence[int], what: str) -> list[list[Any]]:
    """The innermost lists of *value*, after checking every level is a list of its size."""
    if not shape:
        return [[value]]
    nodes: list[Any] = [value]
    for depth, size in enumerate(shape):
        for index, node in enumerate(nodes):
            if not isinstance(node, list) or len(node) != size:
                found = (
                    f"has {len(node)} values" if isinstance(node, list) else f"is {_shown(node)}"
                )
                raise invalid_argument(
                    f"input {name!r}: JSON value is not a rectangular list of {what}: the"
                    f" list at {_position(index, shape[:depth]) or 'the top level'} {found}"
                    f" where {size} belong"
                    f" (the first elements give shape {list(shape)})"
                )
        if depth < len(shape) - 1:
            nodes = [child for node in nodes for child in node]
    return nodes


def _check_types(
    name: str,
    leaves: list[list[Any]],
    shape: Sequence[int],
    allowed: tuple[type, ...],
    what: str,
    dtype_label: str,
) -> None:
    """Every leaf's JSON type must be one of *allowed* (exact types: a bool is no number)."""
    kinds: set[type] = set()
    for leaf_list in leaves:
        kinds.update(map(type, leaf_list))
    if kinds <= set(allowed):
        return
    row, column, leaf = next(
        (row, column, leaf)
        for row, leaf_list in enumerate(leaves)
        for column, leaf in enumerate(leaf_list)
        if type(leaf) not in allowed
    )
    if leaf is None or isinstance(leaf, (dict, list)):
        described = "null" if leaf is None else "a list" if isinstance(leaf, list) else "an object"
    else:
        kind = {bool: "a JSON boolean", str: "a JSON string"}.get(type(leaf), "a JSON number")
        described = f"{_shown(leaf)} ({kind})"
    raise invalid_argument(
        f"input {name!r}: JSON value is not a rectangular list of {what} of type"
        f" {dtype_label}: {described} at {_where(row, column, shape)}; send {what}"
    )


def _lossy(name: str, where: str, leaf: Any, dtype: np.dtype, dtype_label: str) -> ServingError:
    return invalid_argument(
        f"input {name!r}: JSON value {_shown(leaf)} at {where} cannot be converted to"
        f" {dtype_label} without loss of precision ({dtype_label} holds integers up to"
        f" {_EXACT_INTEGERS[dtype]} exactly and magnitudes up to {np.finfo(dtype).max:.6g})"
    )


def _floats(
    name: str,
    value: Any,
    leaves: list[list[Any]],
    shape: Sequence[int],
    dtype: np.dtype,
    dtype_label: str,
) -> np.ndarray:
    exact, largest = _EXACT_INTEGERS[dtype], float(np.finfo(dtype).max)
    low, high = _INTEGER_LITERALS
    width = shape[-1] if shape else 1
    try:
        array = np.array(value, dtype=np.float64)
    except OverflowError:  # an integer past a double's range (a decimal that big parses as inf)
        row, column, leaf = next(
            (row, column, leaf)
            for row, leaf_list in enumerate(leaves)
            for column, leaf in enumerate(leaf_list)
            if type(leaf) is int and abs(leaf) > largest
        )
        raise _lossy(name, _where(row, column, shape), leaf, dtype, dtype_label) from None
    # Only magnitudes past the exact-integer bound can break a rule: look at those alone.
    for flat in np.flatnonzero(np.abs(array) > exact).tolist():
        row, column = divmod(flat, width)
        leaf = leaves[row][column]
        magnitude = abs(float(array.flat[flat]))
        if type(leaf) is int and low <= leaf <= high:
            lossy = True  # an integer literal the type cannot hold exactly
        else:
            lossy = magnitude != float("inf") and magnitude > largest
        if lossy:
            raise _lossy(name, _where(row, column, shape), leaf, dtype, dtype_label)
    return array.astype(dtype, copy=False)


def _integers(
    name: str, value: Any, leaves: list[list[Any]], shape: Sequence[int], dtype: np.dtype,
    dtype_label: str,
) -> np.ndarray:  # fmt: skip
    low, high = _INTEGER_RANGES[dtype]
    for row, leaf_list in enumerate(leaves):
        if leaf_list and (min(leaf_list) < low or max(leaf_list) > high):
            column = next(i for i, leaf in enumerate(leaf_list) if not low <= leaf <= high)
            raise invalid_argument(
                f"input {name!r}: JSON value {_shown(leaf_list[column])} at"
                f" {_where(row, column, shape)} is out of"
                f" range for {dtype_label} (JSON integers from {low} to {high})"
            )
    wide = np.uint64 if dtype == np.uint64 else np.int64
    # Narrower types wrap like TensorFlow's cast from the proto's int32 values.
    return np.array(value, dtype=wide).astype(dtype)


def _strings(name: str, leaves: list[list[Any]], shape: Sequence[int]) -> np.ndarray:
    flat = np.empty(sum(len(leaf_list) for leaf_list in leaves), dtype=object)
    index = 0
    for leaf_list in leaves:
        for leaf in leaf_list:
            if isinstance(leaf, dict):
                encoded = leaf.get("b64")
                if len(leaf) != 1 or not isinstance(encoded, str):
                    raise invalid_argument(
                        f"input {name!r}: a JSON object in a string input must be"
                        f' {{"b64": "<base64>"}}, not {json.dumps(leaf)[:60]}'
                    )
                try:
                    flat[index] = base64.b64decode(encoded, validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise invalid_argument(
                        f"input {name!r}: unable to base64 decode {encoded[:40]!r}: {exc}"
                    ) from exc
            else:
                flat[index] = leaf.encode("utf-8", "surrogatepass")
            index += 1
    return flat.reshape(tuple(shape))


def decode(
    name: str,
    value: Any,
    dtype: np.dtype,
    dtype_label: str,
    dims: Sequence[int] | None,
    signature_name: str,
    limits: RequestLimits = DEFAULT_LIMITS,
) -> np.ndarray:
    """The array JSON *value* gives input *name* (signature dtype *dtype*, shape *dims*).

    *dtype_label* (``DT_FLOAT``) names the type in messages; every failure is
    INVALID_ARGUMENT, except a dtype JSON cannot carry (UNIMPLEMENTED, as TF Serving).
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and dtype in _EXACT_INTEGERS:
        allowed: tuple[type, ...] = (int, float)
        what = "numbers"
    elif dtype in _INTEGER_RANGES:
        allowed, what = (int,), "integers"
    elif dtype == np.bool_:
        allowed, what = (bool,), "booleans"
    elif dtype == _STRING:
        allowed, what = (str, dict), "strings"
    else:
        raise ServingError(
            grpc.StatusCode.UNIMPLEMENTED,
            f"input {name!r}: JSON values cannot be converted to {dtype_label}",
        )
    shape = dense_shape(name, value, None if dims is None else len(dims))
    check_shape(name, shape, dims, signature_name)
    check_batch(name, shape, dtype.itemsize, limits)
    leaves = _leaf_lists(name, value, shape, what)
    _check_types(name, leaves, shape, allowed, what, dtype_label)
    if what == "numbers":
        return _floats(name, value, leaves, shape, dtype, dtype_label)
    if what == "integers":
        return _integers(name, value, leaves, shape, dtype, dtype_label)
    if what == "booleans":
        return np.array(value, dtype=np.bool_)
    return _strings(name, leaves, shape)
