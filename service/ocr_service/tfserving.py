"""TF Serving artefacts: tensor protos without TensorFlow ops, config parsing, warmup records.

The runners, the warmup writer and the config tests all speak TF Serving's protos; this module is
the one place that converts numpy arrays to `TensorProto` and back, and that knows which proto
each TF Serving config file is. tensorflow-serving-api is imported only where its protos are used,
so `single` mode and the REST runner work without it.

Warmup records matter because TF Serving replays `assets.extra/tf_serving_warmup_requests` before
it marks a version AVAILABLE: the first real request then does not pay for graph tracing and
memory allocation. A record whose inputs do not match the signature makes TF Serving refuse the
whole version, so `write_warmup_requests` checks the inputs against `saved_model.pb` first.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format, wrappers_pb2
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow.core.protobuf import saved_model_pb2

SIGNATURE_NAME = "serving_default"
WARMUP_RELPATH = Path("assets.extra") / "tf_serving_warmup_requests"

# ---------------------------------------------------------------------------------------------------
# numpy <-> TensorProto, the same wire format as tf.make_tensor_proto / tf.make_ndarray

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


# ---------------------------------------------------------------------------------------------------
# TF Serving config files
#
# tensorflow-serving-api ships ModelServerConfig but not the protos of --batching_parameters_file
# (session_bundle_config.proto) and --monitoring_config_file (monitoring_config.proto). Until it
# does, the messages below mirror upstream field for field (names, numbers, types) for every field
# of MonitoringConfig and for BatchingParameters fields 1-7, the ones our batching.config uses; a
# field TF Serving added later would be rejected here, which is the safe direction for a linter.


def _mirrored_config_protos() -> tuple[type, type]:
    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)

    f = descriptor_pb2.FieldDescriptorProto
    opt, rep = f.LABEL_OPTIONAL, f.LABEL_REPEATED
    int64_value, string_value = ".google.protobuf.Int64Value", ".google.protobuf.StringValue"

    def message(name: str, fields: list[tuple[str, int, int, int, str]]) -> descriptor_pb2.DescriptorProto:
        msg = descriptor_pb2.DescriptorProto(name=name)
        for field_name, number, label, ftype, type_name in fields:
            field = msg.field.add(name=field_name, number=number, label=label, type=ftype)
            if type_name:
                field.type_name = type_name
        return msg

    mirror = descriptor_pb2.FileDescriptorProto(
        name="ocr_service/tfserving_config_mirror.proto",
        package="tensorflow.serving",
        syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"],
    )
    mirror.message_type.extend(
        [
            message(
                "BatchingParameters",
                [
                    ("max_batch_size", 1, opt, f.TYPE_MESSAGE, int64_value),
                    ("batch_timeout_micros", 2, opt, f.TYPE_MESSAGE, int64_value),
                    ("max_enqueued_batches", 3, opt, f.TYPE_MESSAGE, int64_value),
                    ("num_batch_threads", 4, opt, f.TYPE_MESSAGE, int64_value),
                    ("thread_pool_name", 5, opt, f.TYPE_MESSAGE, string_value),
                    ("allowed_batch_sizes", 6, rep, f.TYPE_INT64, ""),
                    ("pad_variable_length_inputs", 7, opt, f.TYPE_BOOL, ""),
                ],
            ),
            message(
                "PrometheusConfig", [("enable", 1, opt, f.TYPE_BOOL, ""), ("path", 2, opt, f.TYPE_STRING, "")]
            ),
            message(
                "MonitoringConfig",
                [("prometheus_config", 1, opt, f.TYPE_MESSAGE, ".tensorflow.serving.PrometheusConfig")],
            ),
        ]
    )
    pool.Add(mirror)
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.MonitoringConfig")),
    )


try:  # prefer the real protos if a later tensorflow-serving-api ships them
    from tensorflow_serving.config.monitoring_config_pb2 import MonitoringConfig  # type: ignore
    from tensorflow_serving.servables.tensorflow.session_bundle_config_pb2 import (  # type: ignore
        BatchingParameters,
    )
except ImportError:
    BatchingParameters, MonitoringConfig = _mirrored_config_protos()


def parse_model_server_config(text: str):  # -> ModelServerConfig
    """Parse a `--model_config_file`; raises text_format.ParseError on any typo."""
    from tensorflow_serving.config import model_server_config_pb2

    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


def parse_batching_parameters(text: str):  # -> BatchingParameters
    """Parse a `--batching_parameters_file`; raises text_format.ParseError on any typo."""
    return text_format.Parse(text, BatchingParameters())


def parse_monitoring_config(text: str):  # -> MonitoringConfig
    """Parse a `--monitoring_config_file`; raises text_format.ParseError on any typo."""
    return text_format.Parse(text, MonitoringConfig())


# ---------------------------------------------------------------------------------------------------
# warmup records


def read_signature_def(saved_model_dir: Path, signature_name: str = SIGNATURE_NAME):
    """The SignatureDef proto from `saved_model.pb`, without loading the model into TensorFlow."""
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((Path(saved_model_dir) / "saved_model.pb").read_bytes())
    for meta_graph in saved_model.meta_graphs:
        if signature_name in meta_graph.signature_def:
            return meta_graph.signature_def[signature_name]
    raise ValueError(f"{saved_model_dir} has no signature {signature_name!r}")


def _check_inputs(signature_def, inputs: Mapping[str, np.ndarray], where: Path) -> None:
    expected = set(signature_def.inputs)
    if set(inputs) != expected:
        raise ValueError(f"{where}: warmup inputs {sorted(inputs)} != signature inputs {sorted(expected)}")
    for name, array in inputs.items():
        info = signature_def.inputs[name]
        got = ndarray_to_tensor_proto(array).dtype
        if got != info.dtype:
            raise ValueError(
                f"{where}: input {name!r} is {types_pb2.DataType.Name(got)}, "
                f"signature wants {types_pb2.DataType.Name(info.dtype)}"
            )
        if not info.tensor_shape.unknown_rank:
            dims = [d.size for d in info.tensor_shape.dim]
            shape = np.shape(array)
            if len(dims) != len(shape) or any(d not in (-1, s) for d, s in zip(dims, shape, strict=True)):
                raise ValueError(f"{where}: input {name!r} has shape {shape}, signature wants {dims}")


def write_warmup_requests(
    saved_model_dir: Path, model_name: str, inputs: Mapping[str, np.ndarray], count: int = 1
) -> Path:
    """Write `count` identical PredictRequests as TF Serving's warmup TFRecord; returns its path.

    One record is enough to trace the graph and allocate; write more only to warm the batching
    queue's larger allowed_batch_sizes.
    """
    import tensorflow as tf  # TFRecord framing (masked CRC32C) is TensorFlow's to get right
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    saved_model_dir = Path(saved_model_dir)
    if (saved_model_dir / "saved_model.pb").exists():
        _check_inputs(read_signature_def(saved_model_dir), inputs, saved_model_dir)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = SIGNATURE_NAME
    for name, array in inputs.items():
        request.inputs[name].CopyFrom(ndarray_to_tensor_proto(array))
    record = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
    path = saved_model_dir / WARMUP_RELPATH
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for _ in range(count):
            writer.write(record.SerializeToString())
    return path


def default_warmup_inputs() -> dict[str, dict[str, np.ndarray]]:
    """Inputs shaped like real traffic: a blank A4-ish page for ctpn, a batch of 4 lines for crnn."""
    return {
        "ctpn": {"image": np.full((1, 480, 640, 3), 255, dtype=np.uint8)},
        "crnn": {
            "images": np.full((4, 32, 128, 1), 255, dtype=np.uint8),
            "widths": np.array([128, 112, 96, 64], dtype=np.int32),
        },
    }


def version_dirs(model_base: Path) -> list[Path]:
    """Numeric version directories of a TF Serving model base path, oldest first."""
    if not model_base.is_dir():
        return []
    return sorted(
        (p for p in model_base.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`ocr-warmup --model-dir models`: warmup records for every version of ctpn and crnn."""
    parser = argparse.ArgumentParser(prog="ocr-warmup", description=main.__doc__)
    parser.add_argument("--model-dir", type=Path, default=Path("models"), help="TF Serving layout root")
    parser.add_argument("--count", type=int, default=1, help="records per model version")
    args = parser.parse_args(argv)
    written = 0
    for model_name, inputs in default_warmup_inputs().items():
        versions = version_dirs(args.model_dir / model_name)
        if not versions:
            print(f"ocr-warmup: no versions under {args.model_dir / model_name}, skipped")
        for version_dir in versions:
            path = write_warmup_requests(version_dir, model_name, inputs, count=args.count)
            print(f"ocr-warmup: wrote {path}")
            written += 1
    return 0 if written else 1


if __name__ == "__main__":
    raise SystemExit(main())
