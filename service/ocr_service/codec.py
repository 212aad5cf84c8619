"""numpy <-> the wire formats of TF Serving: TensorProto (gRPC, warmup records) and JSON (REST).

The runtime's one place that converts tensors: the gRPC runner, the REST runner and the warmup
writer use it; the same format as tf.make_tensor_proto / tf.make_ndarray without TensorFlow ops.
String tensors come back as object arrays of Python `str` (UTF-8) from every path (`as_text`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np
from tensorflow.core.framework import tensor_pb2, types_pb2

# ---------------------------------------------------------------------------------------------------
# numpy <-> TensorProto

_NUMPY_TO_DTYPE: dict[np.dtype, int] = {
    np.dtype(np.float32): types_pb2.DT_FLOAT,
    np.dtype(np.float64): types_pb2.DT_DOUBLE,
    np.dtype(np.float16): types_pb2.DT_HALF,
    np.dtype(np.int8): types_pb2.DT_INT8,
    np.dtype(np.int16): types_pb2.DT_INT16,
    np.dtype(np.int32): types_pb2.DT_INT32,
    np.dtype(np.int64): types_pb2.DT_INT64,
    np.dtype(np.uint8): types_pb2.DT_UINT8,
    np.dtype(np.uint16): types_pb2.DT_UINT16,
    np.dtype(np.uint32): types_pb2.DT_UINT32,
    np.dtype(np.uint64): types_pb2.DT_UINT64,
    np.dtype(np.bool_): types_pb2.DT_BOOL,
}
_DTYPE_TO_NUMPY = {v: k for k, v in _NUMPY_TO_DTYPE.items()}
# Where a TensorProto without tensor_content keeps its values (TF pads short lists with the last one).
_VAL_FIELD = {
    types_pb2.DT_FLOAT: "float_val",
    types_pb2.DT_DOUBLE: "double_val",
    types_pb2.DT_HALF: "half_val",
    types_pb2.DT_INT8: "int_val",
    types_pb2.DT_INT16: "int_val",
    types_pb2.DT_INT32: "int_val",
    types_pb2.DT_UINT8: "int_val",
    types_pb2.DT_UINT16: "int_val",
    types_pb2.DT_INT64: "int64_val",
    types_pb2.DT_UINT32: "uint32_val",
    types_pb2.DT_UINT64: "uint64_val",
    types_pb2.DT_BOOL: "bool_val",
}


def numpy_dtype(dtype_enum: int) -> np.dtype:
    """numpy dtype of a TF DataType enum; strings are object arrays of bytes."""
    if dtype_enum == types_pb2.DT_STRING:
        return np.dtype(object)
    try:
        return _DTYPE_TO_NUMPY[dtype_enum]
    except KeyError:
        raise ValueError(f"unsupported tensor dtype {types_pb2.DataType.Name(dtype_enum)}") from None


def ndarray_to_tensor_proto(array: np.ndarray | Sequence) -> tensor_pb2.TensorProto:
    """Numeric arrays go into `tensor_content` (little-endian), strings into `string_val` (UTF-8)."""
    array = np.asarray(array)
    proto = tensor_pb2.TensorProto()
    for size in array.shape:
        proto.tensor_shape.dim.add(size=size)
    if array.dtype.kind in "USO":
        proto.dtype = types_pb2.DT_STRING
        proto.string_val.extend(
            v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in array.reshape(-1).tolist()
        )
        return proto
    try:
        proto.dtype = _NUMPY_TO_DTYPE[array.dtype]
    except KeyError:
        raise ValueError(f"unsupported array dtype {array.dtype}") from None
    proto.tensor_content = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    return proto


def tensor_proto_to_ndarray(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """Inverse of `ndarray_to_tensor_proto`, also for protos that use the typed `*_val` fields."""
    shape = tuple(d.size for d in proto.tensor_shape.dim)
    size = int(np.prod(shape, dtype=np.int64))
    if proto.dtype == types_pb2.DT_STRING:
        values = list(proto.string_val)
        flat = np.empty(size, dtype=object)
        if values:
            flat[: len(values)] = values
            flat[len(values) :] = values[-1]
        else:
            flat[:] = b""
        return flat.reshape(shape)
    dtype = numpy_dtype(proto.dtype)
    if proto.tensor_content:
        return np.frombuffer(proto.tensor_content, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)
    values = list(getattr(proto, _VAL_FIELD[proto.dtype]))
    if proto.dtype == types_pb2.DT_HALF:
        values_arr = np.asarray(values, dtype=np.uint16).view(np.float16)
    else:
        values_arr = np.asarray(values, dtype=dtype)
    if values_arr.size == size:
        return values_arr.reshape(shape)
    out = np.zeros(size, dtype=dtype)
    if values_arr.size:
        out[: values_arr.size] = values_arr
        out[values_arr.size :] = values_arr[-1]
    return out.reshape(shape)


def dtype_by_name(name: str) -> np.dtype:
    """numpy dtype of a TF DataType name as TF Serving's REST metadata spells it ("DT_FLOAT")."""
    return numpy_dtype(types_pb2.DataType.Value(name))


def as_text(array: np.ndarray) -> np.ndarray:
    """Bytes tensors -> object arrays of str; numeric arrays unchanged."""
    if array.dtype.kind not in "OS":
        return array
    out = np.empty(array.shape, dtype=object)
    for index, value in np.ndenumerate(array):
        out[index] = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
    return out


# ---------------------------------------------------------------------------------------------------
# numpy <-> TF Serving's REST JSON (columnar "inputs"; strings as {"b64": ...})


def to_json(array: np.ndarray) -> Any:
    if array.dtype.kind in "USO":
        encode = np.vectorize(
            lambda v: {
                "b64": base64.b64encode(v.encode("utf-8") if isinstance(v, str) else bytes(v)).decode("ascii")
            },
            otypes=[object],
        )
        return encode(array).tolist() if array.size else array.tolist()
    return array.tolist()


def from_json(value: Any, dtype: np.dtype | None) -> np.ndarray:
    if dtype is not None and dtype.kind == "O":
        decode = np.vectorize(
            lambda v: (
                base64.b64decode(v["b64"]).decode("utf-8", errors="replace") if isinstance(v, dict) else v
            ),
            otypes=[object],
        )
        array = np.array(value, dtype=object)
        return decode(array) if array.size else array
    return np.asarray(value, dtype=dtype)
