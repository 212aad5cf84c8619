"""The TF Serving files the stacks mount parse with TF Serving's protos; warmup records round-trip."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from ocr_service import codec
from ocr_service.pipeline import PipelineConfig
from ocr_tools import warmup
from ocrstack_testing import tfserving_config
from tensorflow_serving.apis import prediction_log_pb2
from tensorflow_serving.config import model_server_config_pb2

CONFIG_DIR = Path(__file__).resolve().parents[2] / "service" / "tfserving"


def test_models_config_serves_the_four_models_latest_version_from_models():
    config = tfserving_config.parse_model_server_config((CONFIG_DIR / "models.config").read_text())
    assert isinstance(config, model_server_config_pb2.ModelServerConfig)
    models = {m.name: m for m in config.model_config_list.config}
    # both line detectors (OCR_DETECTOR picks one), the recogniser, the page-orientation classifier
    assert sorted(models) == ["crnn", "ctpn", "dbnet", "orient"]
    for name, model in models.items():
        assert model.base_path == f"/models/{name}"
        assert model.model_platform == "tensorflow"
        assert model.model_version_policy.WhichOneof("policy_choice") == "latest"
        assert model.model_version_policy.latest.num_versions == 1


def test_batching_config_values_and_upstream_constraints():
    params = tfserving_config.parse_batching_parameters((CONFIG_DIR / "batching.config").read_text())
    assert params.max_batch_size.value == 64
    assert params.batch_timeout_micros.value == 2000
    assert params.num_batch_threads.value == 2
    assert params.max_enqueued_batches.value == 32
    assert list(params.allowed_batch_sizes) == [1, 2, 4, 8, 16, 32, 64]
    assert params.max_batch_size.value == PipelineConfig().max_lines_per_call
    assert params.pad_variable_length_inputs is True
    # TF Serving refuses to start unless allowed sizes increase and end at max_batch_size.
    sizes = list(params.allowed_batch_sizes)
    assert sizes == sorted(set(sizes)) and sizes[-1] == params.max_batch_size.value


def test_monitoring_config_enables_prometheus_on_the_documented_path():
    config = tfserving_config.parse_monitoring_config((CONFIG_DIR / "monitoring.config").read_text())
    assert config.prometheus_config.enable is True
    assert config.prometheus_config.path == "/monitoring/prometheus/metrics"


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (
            tfserving_config.parse_model_server_config,
            'model_config_list { config { name: "ctpn" basepath: "/m" } }',
        ),
        (tfserving_config.parse_batching_parameters, "max_batch_size: 16"),  # a wrapper, needs { value: }
        (tfserving_config.parse_batching_parameters, "batch_timeout_micro { value: 1 }"),
        (tfserving_config.parse_monitoring_config, "prometheus_config { enabled: true }"),
    ],
)
def test_a_typo_in_a_config_fails_to_parse(parse, text):
    with pytest.raises(text_format.ParseError):
        parse(text)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7,
        np.array([[0, 7, 255]], dtype=np.uint8),
        np.array([-1, 2**31 - 1], dtype=np.int32),
        np.array([2**40], dtype=np.int64),
        np.array([True, False]),
        np.zeros((0, 32, 5, 1), dtype=np.uint8),
    ],
    ids=["float32", "uint8", "int32", "int64", "bool", "empty"],
)
def test_tensor_proto_conversion_matches_tensorflow(array):
    ours = codec.ndarray_to_tensor_proto(array)
    assert np.array_equal(tf.make_ndarray(ours), array) and tf.make_ndarray(ours).dtype == array.dtype
    back = codec.tensor_proto_to_ndarray(tf.make_tensor_proto(array))
    assert back.dtype == array.dtype and back.shape == array.shape and np.array_equal(back, array)


def test_tensor_proto_strings_are_utf8_bytes_both_ways():
    proto = codec.ndarray_to_tensor_proto(np.array([["宽度", "ab"]]))
    assert tf.make_ndarray(proto).tolist() == [["宽度".encode(), b"ab"]]
    back = codec.tensor_proto_to_ndarray(tf.make_tensor_proto([b"\x00\xff", "é".encode()]))
    assert back.dtype == object and back.tolist() == [b"\x00\xff", "é".encode()]


def test_tensor_proto_scalar_fill_is_expanded_like_make_ndarray():
    proto = tf.make_tensor_proto(0.5, shape=[2, 3])  # one float_val for six elements
    assert codec.tensor_proto_to_ndarray(proto).tolist() == [[0.5] * 3] * 2


def _read_warmup(path: Path) -> list[prediction_log_pb2.PredictionLog]:
    logs = []
    for record in tf.data.TFRecordDataset(str(path)):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        logs.append(log)
    return logs


def test_warmup_records_are_predict_logs_with_the_model_name_and_shapes(tiny_models, tmp_path):
    version_dir = tmp_path / "crnn" / "2"
    shutil.copytree(tiny_models / "crnn" / "2", version_dir)
    inputs = warmup.default_warmup_inputs()["crnn"]
    path = warmup.write_warmup_requests(version_dir, "crnn", inputs, count=3)
    assert path == version_dir / "assets.extra" / "tf_serving_warmup_requests"
    logs = _read_warmup(path)
    assert len(logs) == 3
    request = logs[0].predict_log.request
    assert request.model_spec.name == "crnn"
    assert request.model_spec.signature_name == "serving_default"
    assert [d.size for d in request.inputs["images"].tensor_shape.dim] == [4, 32, 128, 1]
    assert tf.make_ndarray(request.inputs["widths"]).tolist() == [128, 112, 96, 64]
    assert tf.make_ndarray(request.inputs["images"]).dtype == np.uint8


def test_warmup_refuses_inputs_that_would_make_tfserving_reject_the_model(tiny_models, tmp_path):
    version_dir = tmp_path / "crnn" / "1"
    shutil.copytree(tiny_models / "crnn" / "1", version_dir)
    images = np.full((1, 32, 64, 1), 255, np.uint8)
    with pytest.raises(ValueError, match="widths"):
        warmup.write_warmup_requests(version_dir, "crnn", {"images": images})
    with pytest.raises(ValueError, match="DT_INT64"):
        warmup.write_warmup_requests(version_dir, "crnn", {"images": images, "widths": np.int64([64])})
    with pytest.raises(ValueError, match="shape"):
        warmup.write_warmup_requests(version_dir, "crnn", {"images": images[0], "widths": np.int32([64])})
    assert not (version_dir / "assets.extra").exists()


def test_ocr_warmup_cli_writes_records_for_every_version_of_both_models(tiny_models, tmp_path, capsys):
    for name in ("ctpn", "crnn"):
        shutil.copytree(tiny_models / name, tmp_path / name)
    assert warmup.main(["--model-dir", str(tmp_path)]) == 0
    for name, version, shape in [
        ("ctpn", 1, [1, 480, 640, 3]),
        ("crnn", 1, [4, 32, 128, 1]),
        ("crnn", 2, None),
    ]:
        logs = _read_warmup(tmp_path / name / str(version) / "assets.extra" / "tf_serving_warmup_requests")
        assert [log.predict_log.request.model_spec.name for log in logs] == [name]
        if shape:
            image = logs[0].predict_log.request.inputs["image" if name == "ctpn" else "images"]
            assert [d.size for d in image.tensor_shape.dim] == shape
    out = capsys.readouterr().out
    assert out.count("wrote") == 3 and f"no versions under {tmp_path / 'dbnet'}, skipped" in out
    assert warmup.main(["--model-dir", str(tmp_path / "empty")]) == 1
