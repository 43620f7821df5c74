"""Request tensors in, response tensors out: checked against the signature, converted like TF Serving.

Every check raises INVALID_ARGUMENT with a message that names the input, what the signature
expects and what came, so a client can fix its request; none of them can take the server
down.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Final

import numpy as np

from serving import json_tensor
from serving.limits import DEFAULT_LIMITS, RequestLimits, check_batch
from serving.shapes import check_shape, shape_text
from serving.status_errors import invalid_argument
from tf_serving_api import tensor_util
from tf_serving_api.protos import meta_graph_pb2, tensor_pb2, types_pb2

# Where a request tensor of each dtype keeps its values when it does not use tensor_content.
_VALUE_FIELDS: Final = {
    types_pb2.DT_FLOAT: "float_val",
    types_pb2.DT_DOUBLE: "double_val",
    types_pb2.DT_INT32: "int_val",
    types_pb2.DT_INT16: "int_val",
    types_pb2.DT_INT8: "int_val",
    types_pb2.DT_UINT8: "int_val",
    types_pb2.DT_UINT16: "int_val",
    types_pb2.DT_INT64: "int64_val",
    types_pb2.DT_UINT32: "uint32_val",
    types_pb2.DT_UINT64: "uint64_val",
    types_pb2.DT_BOOL: "bool_val",
    types_pb2.DT_STRING: "string_val",
    types_pb2.DT_HALF: "half_val",
    types_pb2.DT_BFLOAT16: "half_val",
}


def dtype_name(dtype: int) -> str:
    """``DT_FLOAT`` for types_pb2.DT_FLOAT, as TF Serving prints dtypes."""
    return tensor_util.datatype_name(dtype)


def signature_dims(info: meta_graph_pb2.TensorInfo) -> list[int] | None:
    """The shape a signature declares for an input (-1 = any size), or None if rank unknown."""
    if info.tensor_shape.unknown_rank:
        return None
    return [d.size for d in info.tensor_shape.dim]


def check_input_keys(sent: Collection[str], signature: meta_graph_pb2.SignatureDef) -> None:
    """The request's input names must be exactly the signature's (TF Serving's message)."""
    expected = set(signature.inputs)
    if set(sent) == expected:
        return
    extra = sorted(set(sent) - expected)
    missing = sorted(expected - set(sent))
    raise invalid_argument(
        f"input size does not match signature: {len(sent)}!={len(expected)}"
        f" len({{{','.join(sorted(sent))}}}) != len({{{','.join(sorted(expected))}}})."
        f" Sent extra: {{{','.join(extra)}}}. Missing but required: {{{','.join(missing)}}}."
    )


def _check_values(name: str, proto: tensor_pb2.TensorProto, shape: Sequence[int]) -> None:
    """The values *proto* carries must fit its *shape*, checked before anything is copied.

    ``tensor_content`` must hold exactly the shape's bytes (TF Serving: "tensor parsing
    error"). A typed field may hold fewer values — TensorFlow repeats the last one, as TF
    Serving does — but never more.
    """
    count = math.prod(shape)
    if proto.tensor_content:
        try:
            size = tensor_util.numpy_dtype(proto.dtype).itemsize
        except (KeyError, ValueError, TypeError):
            return  # a dtype the decoder itself will refuse, with its own message
        if proto.dtype == types_pb2.DT_STRING or size == 0:
            return  # variable-size encodings: the decoder checks them
        need = count * size
        if len(proto.tensor_content) != need:
            raise invalid_argument(
                f"input {name!r}: its values do not fill its shape {shape_text(shape)}:"
                f" tensor_content holds {len(proto.tensor_content)} bytes, the shape needs"
                f" {need} ({count} x {size}-byte {dtype_name(proto.dtype)}); send"
                " exactly the shape's values"
            )
        return
    field = _VALUE_FIELDS.get(proto.dtype)
    if field is not None and len(getattr(proto, field)) > count:
        raise invalid_argument(
            f"input {name!r}: its values do not fill its shape {shape_text(shape)}:"
            f" {field} holds {len(getattr(proto, field))} values, the shape {count}; send"
            " exactly the shape's values"
        )


def input_array(
    name: str,
    proto: tensor_pb2.TensorProto,
    info: meta_graph_pb2.TensorInfo,
    signature_name: str,
    limits: RequestLimits = DEFAULT_LIMITS,
) -> np.ndarray:
    """The numpy value of request tensor *proto* for input *name*, checked against *info*.

    Every check runs on the declared shape and the encoded bytes, before the array exists.
    """
    if proto.dtype != info.dtype:
        raise invalid_argument(
            f"input {name!r} has dtype {dtype_name(proto.dtype)} but signature"
            f" {signature_name!r} expects {dtype_name(info.dtype)}; send"
            f" {dtype_name(info.dtype)} values"
        )
    if proto.tensor_shape.unknown_rank:
        raise invalid_argument(f"input {name!r} has no shape; a request tensor needs one")
    shape = [d.size for d in proto.tensor_shape.dim]
    if any(size < 0 for size in shape):
        raise invalid_argument(
            f"input {name!r} has shape {shape_text(shape)}; a request tensor's shape must be"
            " fully defined (no -1)"
        )
    check_shape(name, shape, signature_dims(info), signature_name)
    check_batch(name, shape, np.dtype(tensor_util.numpy_dtype(proto.dtype)).itemsize or 1, limits)
    _check_values(name, proto, shape)
    try:
        return tensor_util.make_ndarray(proto)
    except (ValueError, TypeError) as exc:
        raise invalid_argument(
            f"input {name!r}: its values do not fill its shape {shape_text(shape)}: {exc}"
        ) from exc


def request_arrays(
    inputs: Mapping[str, tensor_pb2.TensorProto],
    signature: meta_graph_pb2.SignatureDef,
    signature_name: str,
    limits: RequestLimits = DEFAULT_LIMITS,
) -> dict[str, np.ndarray]:
    """All request tensors as numpy arrays, after every check passed."""
    check_input_keys(list(inputs), signature)
    return {
        key: input_array(key, proto, signature.inputs[key], signature_name, limits)
        for key, proto in inputs.items()
    }


def json_array(
    name: str,
    value: object,
    info: meta_graph_pb2.TensorInfo,
    signature_name: str,
    limits: RequestLimits = DEFAULT_LIMITS,
) -> np.ndarray:
    """The numpy value of a REST (JSON) input, by TF Serving's JSON rules, checked."""
    return json_tensor.decode(
        name,
        value,
        np.dtype(tensor_util.numpy_dtype(info.dtype)),
        dtype_name(info.dtype),
        signature_dims(info),
        signature_name,
        limits,
    )


def json_arrays(
    values: Mapping[str, object],
    signature: meta_graph_pb2.SignatureDef,
    signature_name: str,
    limits: RequestLimits = DEFAULT_LIMITS,
) -> dict[str, np.ndarray]:
    """All REST inputs (name → JSON value) as numpy arrays, after every check passed."""
    check_input_keys(list(values), signature)
    return {
        key: json_array(key, value, signature.inputs[key], signature_name, limits)
        for key, value in values.items()
    }


def output_proto(array: np.ndarray) -> tensor_pb2.TensorProto:
    """A response TensorProto in the typed value field, as TF Serving sends every dtype.

    Clients read those fields directly (``outputs["predictions"].float_val``,
    ``outputs["classes"].int_val`` for uint8); tensor_content would look empty to them.
    """
    return tensor_util.typed_tensor_proto(array)
