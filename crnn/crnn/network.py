"""CRNN: compact VGG-style conv stack (height 32 -> 1, width / stride), two BiLSTMs, dense logits.

Sized for CPU: training has ~1 core and inference must stay well under 100 ms for 10 lines.

The horizontal stride (4 or 2 pixels of the 32 px high crop per CTC time step) is a model shape
choice stored with a run (config.json `width_stride`). CTC needs a step per character plus a blank
between equal neighbours: at stride 4 a 14 px `l` gets ~1.6 steps, so `ll` (3 steps needed) is
often read as one `l`. Stride 2 gives narrow glyphs twice the steps for ~1.4x the recogniser's time
(measured on 12 crops of 400 px, one thread); both strides have the same weights, so a stride-2 run
can start from a stride-4 model.
"""

from __future__ import annotations

import tensorflow as tf

HEIGHT = 32
WIDTH_STRIDE = 4  # the shipped models' stride; runs without `width_stride` in config.json use it
WIDTH_STRIDES = (4, 2)


def sequence_lengths(widths: tf.Tensor, stride: int = WIDTH_STRIDE) -> tf.Tensor:
    """Number of CTC time steps for crops of the given pixel widths: ceil(W / stride)."""
    return (tf.cast(widths, tf.int32) + stride - 1) // stride


def _conv(x, filters: int, name: str, kernel=(3, 3), padding="same"):
    x = tf.keras.layers.Conv2D(filters, kernel, padding=padding, use_bias=False, name=name)(x)
    x = tf.keras.layers.BatchNormalization(name=name + "_bn")(x)
    return tf.keras.layers.ReLU(name=name + "_relu")(x)


def build_crnn(
    num_classes: int,
    channels: tuple[int, int, int, int] = (32, 64, 128, 192),
    lstm_units: int = 128,
    width_stride: int = WIDTH_STRIDE,
) -> tf.keras.Model:
    """Keras model: (uint8 images [N, 32, W, 1], int32 widths [N]) -> logits [N, ceil(W/s), num_classes].

    Class 0 is the CTC blank. Crops of one batch are right-padded to the widest; `widths` (each
    crop's own width) masks the padded time steps in both LSTM directions, so a line reads the same
    whatever else is in its batch (the backward LSTM would otherwise start in the padding).
    """
    if width_stride not in WIDTH_STRIDES:
        raise ValueError(f"width_stride must be one of {WIDTH_STRIDES}, got {width_stride}")
    c1, c2, c3, c4 = channels
    inp = tf.keras.Input(shape=(HEIGHT, None, 1), dtype=tf.uint8, name="images")
    widths = tf.keras.Input(shape=(), dtype=tf.int32, name="widths")
    x = tf.keras.layers.Rescaling(1.0 / 255.0, name="scale")(tf.keras.ops.cast(inp, "float32"))
    x = _conv(x, c1, "conv1")
    x = tf.keras.layers.MaxPool2D((2, 2), padding="same", name="pool1")(x)  # 16 x W/2
    x = _conv(x, c2, "conv2")
    pool2 = (2, 2) if width_stride == 4 else (2, 1)
    x = tf.keras.layers.MaxPool2D(pool2, padding="same", name="pool2")(x)  # 8 x W/stride
    x = _conv(x, c3, "conv3")
    x = _conv(x, c3, "conv4")
    x = tf.keras.layers.MaxPool2D((2, 1), name="pool3")(x)  # 4 x W/4
    x = _conv(x, c4, "conv5")
    x = tf.keras.layers.MaxPool2D((2, 1), name="pool4")(x)  # 2 x W/4
    x = _conv(x, c4 + 64, "conv6", kernel=(2, 1), padding="valid")  # 1 x W/4
    x = tf.keras.layers.Reshape((-1, c4 + 64), name="squeeze")(x)  # [N, W/4, C]
    mask = TimeStepMask(width_stride, name="time_step_mask")(x, widths)
    for i in (1, 2):
        x = tf.keras.layers.Bidirectional(
            tf.keras.layers.LSTM(lstm_units, return_sequences=True), name=f"bilstm{i}"
        )(x, mask=mask)
    logits = tf.keras.layers.Dense(num_classes, name="logits")(x)
    return tf.keras.Model([inp, widths], logits, name="crnn")


def stride_of(model: tf.keras.Model) -> int:
    """The horizontal stride a model built by `build_crnn` was built with."""
    return model.get_layer("time_step_mask").stride


class TimeStepMask(tf.keras.layers.Layer):
    """[N, T] bool: True for the time steps that come from a crop's own pixels (not its padding)."""

    def __init__(self, stride: int = WIDTH_STRIDE, **kwargs):
        super().__init__(**kwargs)
        self.stride = stride

    def call(self, features: tf.Tensor, widths: tf.Tensor) -> tf.Tensor:
        return tf.sequence_mask(sequence_lengths(widths, self.stride), tf.shape(features)[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "stride": self.stride}
