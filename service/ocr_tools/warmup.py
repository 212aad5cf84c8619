"""`ocr-warmup`: TF Serving warmup records for every version of ctpn, dbnet and crnn (offline tooling).

Warmup records matter because TF Serving replays `assets.extra/tf_serving_warmup_requests` before
it marks a version AVAILABLE: the first real request then does not pay for graph tracing and
memory allocation. A record whose inputs do not match the signature makes TF Serving refuse the
whole version, so `write_warmup_requests` checks the inputs against `saved_model.pb` first.
Run it after each export (the model packages must not import the service); the service never runs it.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from ocr_service.codec import ndarray_to_tensor_proto
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2

SIGNATURE_NAME = "serving_default"
WARMUP_RELPATH = Path("assets.extra") / "tf_serving_warmup_requests"

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
    """Inputs shaped like real traffic: a blank A4-ish page for each detector, 4 lines for crnn."""
    page = np.full((1, 480, 640, 3), 255, dtype=np.uint8)
    return {
        "ctpn": {"image": page},
        "dbnet": {"image": page},
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
    """`ocr-warmup --model-dir models`: warmup records for every version of ctpn, dbnet and crnn."""
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
