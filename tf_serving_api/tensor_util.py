"""numpy arrays ⇄ TensorProto, converted exactly as ``tf.make_tensor_proto``/``tf.make_ndarray`` do.

Written here because TensorFlow's own pair needs its runtime (seconds to import, and its whole
wheel in the web UI's image), and the TF-free port that exists, tensorboard's ``tensor_util``,
builds tensorboard's renamed copies of the protos (``tensorboard.TensorProto``), not these. It
covers the dtypes TF Serving clients send and models answer with — floats, integers, bool and
strings; any other dtype is a TypeError naming it. The test beside it compares the serialized
bytes with TensorFlow's for every dtype here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from tf_serving_api.protos import tensor_pb2, tensor_shape_pb2, types_pb2


@dataclass(frozen=True)
class _Kind:
    """How TensorFlow stores one dtype in a TensorProto."""

    datatype: int  # types_pb2.DataType
    numpy: np.dtype
    field: str  # the typed repeated field holding the values when they are not packed
    # More than one value goes to tensor_content as raw bytes: TensorFlow's
    # _TENSOR_CONTENT_TYPES (uint16, bool and strings are not among them).
    packed: bool


_KINDS: Final = (
    _Kind(types_pb2.DT_FLOAT, np.dtype(np.float32), "float_val", True),
    _Kind(types_pb2.DT_DOUBLE, np.dtype(np.float64), "double_val", True),
    _Kind(types_pb2.DT_HALF, np.dtype(np.float16), "half_val", True),
    _Kind(types_pb2.DT_INT8, np.dtype(np.int8), "int_val", True),
    _Kind(types_pb2.DT_INT16, np.dtype(np.int16), "int_val", True),
    _Kind(types_pb2.DT_INT32, np.dtype(np.int32), "int_val", True),
    _Kind(types_pb2.DT_INT64, np.dtype(np.int64), "int64_val", True),
    _Kind(types_pb2.DT_UINT8, np.dtype(np.uint8), "int_val", True),
    _Kind(types_pb2.DT_UINT16, np.dtype(np.uint16), "int_val", False),
    _Kind(types_pb2.DT_UINT32, np.dtype(np.uint32), "uint32_val", True),
    _Kind(types_pb2.DT_UINT64, np.dtype(np.uint64), "uint64_val", True),
    _Kind(types_pb2.DT_BOOL, np.dtype(np.bool_), "bool_val", False),
    # TensorFlow's numpy type for DT_STRING is object: elements are bytes.
    _Kind(types_pb2.DT_STRING, np.dtype(object), "string_val", False),
)
_BY_DATATYPE: Final = {kind.datatype: kind for kind in _KINDS}
_BY_NUMPY: Final = {kind.numpy: kind for kind in _KINDS}
_STRING: Final = _BY_DATATYPE[types_pb2.DT_STRING]


def datatype_name(datatype: int) -> str:
    """``DT_FLOAT`` for types_pb2.DT_FLOAT; the number for one types.proto does not name."""
    if datatype in types_pb2.DataType.values():
        return types_pb2.DataType.Name(datatype)
    return str(datatype)


def _kind_of(dtype: np.dtype) -> _Kind:
    if dtype.kind in "US":  # numpy's str_ and bytes_ arrays are strings to TensorFlow
        return _STRING
    kind = _BY_NUMPY.get(dtype)
    if kind is None:
        supported = ", ".join(str(k.numpy) for k in _KINDS)
        raise TypeError(f"numpy dtype {dtype} has no TensorProto conversion here ({supported})")
    return kind


def numpy_dtype(datatype: int) -> np.dtype:
    """The numpy dtype TensorFlow uses for *datatype* (object for DT_STRING)."""
    kind = _BY_DATATYPE.get(datatype)
    if kind is None:
        raise TypeError(f"tensor dtype {datatype_name(datatype)} is not supported here")
    return kind.numpy


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"string tensors hold str or bytes, not {type(value).__name__}: {value!r}")


def _encode(array: np.ndarray, packed: bool) -> tensor_pb2.TensorProto:
    """*array* as a TensorProto: in tensor_content if *packed* allows it, else the typed field."""
    kind = _kind_of(array.dtype)
    proto = tensor_pb2.TensorProto(
        dtype=kind.datatype,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in array.shape]
        ),
    )
    if packed and kind.packed and array.size > 1:
        proto.tensor_content = array.tobytes()  # C order, as TensorFlow expects
        return proto
    flat = array.ravel()
    if kind is _STRING:
        proto.string_val.extend(_as_bytes(value) for value in flat.tolist())
    elif kind.datatype == types_pb2.DT_HALF:
        proto.half_val.extend(flat.view(np.uint16).tolist())  # half_val holds the bit patterns
    else:
        getattr(proto, kind.field).extend(flat.tolist())
    return proto


def make_tensor_proto(values: npt.ArrayLike) -> tensor_pb2.TensorProto:
    """A TensorProto of *values*, byte for byte what ``tf.make_tensor_proto`` makes of them.

    *values* are taken as numpy sees them (``np.asarray``): unlike TensorFlow, a Python list of
    floats stays float64 rather than becoming float32, so pass arrays of the dtype you mean.
    """
    return _encode(np.asarray(values), packed=True)


def typed_tensor_proto(values: npt.ArrayLike) -> tensor_pb2.TensorProto:
    """A TensorProto of *values* in its dtype's typed field, never tensor_content.

    What TF Serving answers with (``Tensor::AsProtoField``), and what clients read directly:
    ``outputs["predictions"].float_val``, and ``outputs["classes"].int_val`` for the int8,
    int16, int32, uint8 and uint16 that TensorFlow keeps there.
    """
    return _encode(np.asarray(values), packed=False)


def make_ndarray(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """The array in *proto*, as ``tf.make_ndarray`` returns it.

    Packed or in the typed field; fewer typed values than the shape holds repeat the last one
    (TensorFlow's shorthand for constants). Values that cannot fill the shape raise ValueError,
    a dtype not covered here TypeError.
    """
    kind = _BY_DATATYPE.get(proto.dtype)
    if kind is None:
        raise TypeError(f"tensor dtype {datatype_name(proto.dtype)} is not supported here")
    shape = [dim.size for dim in proto.tensor_shape.dim]
    count = int(np.prod(shape, dtype=np.int64))
    if proto.tensor_content:
        return np.frombuffer(proto.tensor_content, dtype=kind.numpy).copy().reshape(shape)
    if kind is _STRING:
        strings: list[bytes | str] = list(proto.string_val)
        if count > len(strings):
            strings.extend([strings[-1] if strings else ""] * (count - len(strings)))
        return np.array(strings, dtype=object).reshape(shape)
    if kind.datatype == types_pb2.DT_HALF:
        values = np.fromiter(proto.half_val, dtype=np.uint16).view(np.float16)
    else:
        values = np.fromiter(getattr(proto, kind.field), dtype=kind.numpy)
    if values.size == 0:
        return np.zeros(shape, kind.numpy)
    if values.size != count:
        values = np.pad(values, (0, count - values.size), "edge")
    return values.reshape(shape)
