"""The DB network (Keras): CTPN's conv trunk, a small feature pyramid, probability and threshold heads.

The trunk is `ctpn.network.TRUNK` layer for layer (same names), so a run can start from the bundled
detector's trunk (`init_trunk_from_ctpn`) instead of from nothing. Its outputs at 1/4, 1/8 and 1/16
of the page are brought to FPN channels, summed top-down and concatenated at 1/4 ("fuse"), as in
DBNet's neck. Each head is a 3x3 conv and two 2x2 transposed convs back to full resolution, as
PaddleOCR's DBHead (k = 50 in the step function 1 / (1 + exp(-k (P - T)))).

Serving needs the probability map only; the threshold head and the binary map exist for training.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from ctpn.network import TRUNK, trunk_layers

K = 50.0  # DBHead's k (PaddleOCR ppocr/modeling/heads/det_db_head.py, the DB paper)
FEATURE_TAPS = (1, 3, 5)  # trunk convs whose output feeds the pyramid: strides 4, 8, 16


class _Head(keras.layers.Layer):
    def __init__(self, channels: int, name: str):
        super().__init__(name=name)
        self.conv = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False, name="conv")
        self.bn1 = keras.layers.BatchNormalization(name="bn1")
        self.up1 = keras.layers.Conv2DTranspose(channels, 2, strides=2, use_bias=False, name="up1")
        self.bn2 = keras.layers.BatchNormalization(name="bn2")
        self.up2 = keras.layers.Conv2DTranspose(1, 2, strides=2, name="up2")

    def call(self, x, training=False):
        x = tf.nn.relu(self.bn1(self.conv(x), training=training))
        x = tf.nn.relu(self.bn2(self.up1(x), training=training))
        return tf.sigmoid(self.up2(x))[..., 0]


class DB(keras.Model):
    """uint8 [N, H, W, 3] (H, W multiples of 16) -> dict of prob [N, H, W] (+ thresh, binary in training)."""

    def __init__(self, fpn: int = 32, head: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.trunk = trunk_layers()
        self.lateral = [keras.layers.Conv2D(fpn, 1, name=f"lateral{i}") for i in FEATURE_TAPS]
        self.smooth = [
            keras.layers.Conv2D(fpn // 4, 3, padding="same", name=f"smooth{i}") for i in FEATURE_TAPS
        ]
        self.prob_head = _Head(head, name="prob_head")
        self.thresh_head = _Head(head, name="thresh_head")

    def features(self, image, training=False):
        x = tf.cast(image, tf.float32) / 127.5 - 1.0
        taps = []
        for i in range(len(TRUNK)):
            for layer in self.trunk[3 * i : 3 * i + 3]:
                x = layer(x, training=training)
            if i in FEATURE_TAPS:
                taps.append(x)
        laterals = [lat(t) for lat, t in zip(self.lateral, taps, strict=True)]
        for i in range(len(laterals) - 2, -1, -1):  # top-down: coarse levels added to finer ones
            size = tf.shape(laterals[i])[1:3]
            laterals[i] = laterals[i] + tf.image.resize(laterals[i + 1], size, method="nearest")
        size = tf.shape(laterals[0])[1:3]
        levels = [
            tf.image.resize(sm(p), size, method="nearest")
            for sm, p in zip(self.smooth, laterals, strict=True)
        ]
        return tf.concat(levels, axis=-1)

    def call(self, image, training=False):
        fuse = self.features(image, training=training)
        prob = self.prob_head(fuse, training=training)
        if not training:
            return {"prob": prob}
        thresh = self.thresh_head(fuse, training=training)
        binary = tf.sigmoid(K * (prob - thresh))
        return {"prob": prob, "thresh": thresh, "binary": binary}


def build(**kwargs) -> DB:
    """A DB network with all its variables created (one training-mode call on a white 32x32 image)."""
    model = DB(**kwargs)
    model(tf.fill([1, 32, 32, 3], tf.constant(255, tf.uint8)), training=True)
    return model


def init_trunk_from_ctpn(model: DB, saved_model_dir) -> int:
    """Copy the trunk's weights from an exported CTPN (models/ctpn/<version>); returns how many arrays."""
    from ctpn.loop import init_from_savedmodel
    from ctpn.network import build as build_ctpn

    ctpn = build_ctpn()
    init_from_savedmodel(ctpn, saved_model_dir)
    source = {layer.name: layer for layer in ctpn.trunk}
    copied = 0
    for layer in model.trunk:
        for mine, theirs in zip(layer.weights, source[layer.name].weights, strict=True):
            mine.assign(theirs)
            copied += 1
    return copied
