"""Shared fixtures for the service tests.

TF Serving side: tiny SavedModels with the exact signatures of docs/architecture.md (so the runners
and the stand-in are tested without the real models), and a TF Serving stand-in subprocess.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from ocrstack_testing.standin import StandIn

SLOW_DELAY_MS = 2000


def _export_tiny_models(root: Path) -> None:
    """ctpn/1, crnn/1, crnn/2 (text prefixed with its version, to see pins) and echo/1 (strings in)."""
    import tensorflow as tf

    class TinyCtpn(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
        def serve(self, image):
            gray = tf.reduce_mean(tf.cast(image, tf.float32) / 255.0, axis=-1, keepdims=True)
            cell = tf.nn.avg_pool2d(gray, ksize=16, strides=16, padding="VALID")  # [N, H/16, W/16, 1]
            anchor = tf.range(10, dtype=tf.float32) / 10.0
            cls_prob = (1.0 - cell) * (1.0 - anchor)  # dark cells are "text"
            return {
                "cls_prob": cls_prob,
                "v_deltas": tf.stack([cls_prob * 0.5, cls_prob - 0.25], axis=-1),
                "side_offsets": cls_prob * 2.0 - 1.0,
            }

    class TinyCrnn(tf.Module):
        def __init__(self, version: int) -> None:
            super().__init__()
            self.prefix = f"v{version}·宽"

        @tf.function(
            input_signature=[tf.TensorSpec([None, 32, None, 1], tf.uint8), tf.TensorSpec([None], tf.int32)]
        )
        def serve(self, images, widths):
            text = tf.strings.join([self.prefix, tf.strings.as_string(widths)])
            text = tf.where(widths > 0, text, "")
            ink = 1.0 - tf.reduce_mean(tf.cast(images, tf.float32), axis=[1, 2, 3]) / 255.0
            steps = tf.range(tf.shape(images)[2] // 4, dtype=tf.int32)
            labels = tf.where(
                steps[None, :] < (widths // 4)[:, None], steps[None, :] + widths[:, None] % 7, -1
            )
            return {"text": text, "confidence": tf.where(widths > 0, ink, 1.0), "labels": labels}

    class Echo(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def serve(self, data):
            return {"data_bytes": data, "length": tf.strings.length(data)}

    for name, version, module in [
        ("ctpn", 1, TinyCtpn()),
        ("crnn", 1, TinyCrnn(1)),
        ("crnn", 2, TinyCrnn(2)),
        ("echo", 1, Echo()),
    ]:
        tf.saved_model.save(
            module, str(root / name / str(version)), signatures={"serving_default": module.serve}
        )


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("models")
    _export_tiny_models(root)
    return root


def write_models_config(path: Path, models_root: Path) -> Path:
    """A models.config for the stand-in: crnn serves all versions so version pins can be tested;
    `slow` is the echo model again, answered SLOW_DELAY_MS late, for deadline tests."""
    path.write_text(
        "model_config_list {\n"
        f'  config {{ name: "ctpn" base_path: "{models_root / "ctpn"}" model_platform: "tensorflow" }}\n'
        f'  config {{ name: "crnn" base_path: "{models_root / "crnn"}" model_platform: "tensorflow"\n'
        "           model_version_policy { all {} } }\n"
        f'  config {{ name: "echo" base_path: "{models_root / "echo"}" model_platform: "tensorflow" }}\n'
        f'  config {{ name: "slow" base_path: "{models_root / "echo"}" model_platform: "tensorflow" }}\n'
        "}\n"
    )
    return path


@pytest.fixture(scope="module")
def standin(tiny_models, tmp_path_factory) -> Iterator[StandIn]:
    tmp = tmp_path_factory.mktemp("standin")
    server = StandIn(
        write_models_config(tmp / "models.config", tiny_models),
        tmp / "standin.log",
        extra_args=("--delay-ms", str(SLOW_DELAY_MS), "--delay-model", "slow"),
        ready_models=("ctpn", "crnn", "echo"),
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def crnn_inputs() -> dict[str, np.ndarray]:
    images = np.full((3, 32, 24, 1), 255, dtype=np.uint8)
    images[0, :, :8] = 0  # a third of crop 0 is ink
    return {"images": images, "widths": np.array([24, 9, 0], dtype=np.int32)}


@pytest.fixture
def ctpn_inputs() -> dict[str, np.ndarray]:
    image = np.full((1, 32, 48, 3), 255, dtype=np.uint8)
    image[0, :16, :16] = 0  # the top-left cell is black
    return {"image": image}
