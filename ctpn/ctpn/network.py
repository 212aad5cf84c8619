"""The CTPN network (Keras): conv trunk at stride 16, 3x3 window, BiLSTM along rows, FC, heads.

The trunk is a compact VGG-style stack with strided convolutions early so a 1000x800 page runs in
about 100 ms on two CPU cores; nothing pretrained can be downloaded here, so it trains from scratch.
"""

import re

import keras
import tensorflow as tf

from ctpn.anchors import ANCHOR_HEIGHTS

K = len(ANCHOR_HEIGHTS)
TRUNK = ((16, 2), (32, 2), (64, 2), (64, 1), (128, 2), (128, 1))  # (channels, stride) of 3x3 convs


def trunk_layers() -> list[keras.layers.Layer]:
    """TRUNK as layers: conv{i}, bn{i}, relu{i} for each entry (the names checkpoints and DB's copy use)."""
    layers = []
    for i, (ch, stride) in enumerate(TRUNK):
        layers += [
            keras.layers.Conv2D(ch, 3, strides=stride, padding="same", use_bias=False, name=f"conv{i}"),
            keras.layers.BatchNormalization(name=f"bn{i}"),
            keras.layers.ReLU(name=f"relu{i}"),
        ]
    return layers


class CTPN(keras.Model):
    """uint8 [N, H, W, 3] (H, W multiples of 16) -> dict of cls_logits, cls_prob, v_deltas, side_offsets."""

    def __init__(self, window: int = 256, lstm: int = 128, fc: int = 512, **kwargs):
        super().__init__(**kwargs)
        self.trunk = trunk_layers()
        self.window = keras.layers.Conv2D(window, 3, padding="same", activation="relu", name="window")
        self.rnn = keras.layers.Bidirectional(keras.layers.LSTM(lstm, return_sequences=True), name="bilstm")
        self.fc = keras.layers.Dense(fc, activation="relu", name="fc")
        self.cls = keras.layers.Dense(2 * K, name="cls")
        self.vreg = keras.layers.Dense(2 * K, name="vreg")
        self.side = keras.layers.Dense(K, name="side")

    def call(self, image, training=False):
        x = tf.cast(image, tf.float32) / 127.5 - 1.0
        for layer in self.trunk:
            x = layer(x, training=training)
        x = self.window(x)
        shape = tf.shape(x)
        n, h, w = shape[0], shape[1], shape[2]
        rows = tf.reshape(x, [n * h, w, x.shape[-1]])
        rows = self.rnn(rows, training=training)
        x = tf.reshape(rows, [n, h, w, rows.shape[-1]])
        x = self.fc(x)
        logits = tf.reshape(self.cls(x), [n, h, w, K, 2])
        return {
            "cls_logits": logits,
            "cls_prob": tf.nn.softmax(logits)[..., 1],
            "v_deltas": tf.reshape(self.vreg(x), [n, h, w, K, 2]),
            "side_offsets": self.side(x),
        }


def weights(model: keras.Model) -> dict[str, tf.Variable]:
    """All model variables by path, for tf.train.Checkpoint (not the unused dropout seed states); the
    same for any network of ours (CTPN, DB).

    Keras 3 layers kept in a list, and the cells inside Bidirectional, are not tracked by
    tf.train.Checkpoint's object graph, so checkpoints name the variables explicitly.
    """
    return {_stable_path(v.path): v for v in model.variables if "seed_generator" not in v.path}


def _stable_path(path: str) -> str:
    """'ctpn_1/bilstm/forward_lstm_1/lstm_cell/kernel' -> 'ctpn.bilstm.forward_lstm.lstm_cell.kernel'.

    Keras makes names unique per process with _N suffixes; checkpoints must not depend on how many
    models a process built before.
    """
    return ".".join(re.sub(r"_\d+$", "", part) for part in path.split("/"))


def build(**kwargs) -> CTPN:
    """A CTPN with its variables created (one call on a 32x32 white image)."""
    model = CTPN(**kwargs)
    model(tf.fill([1, 32, 32, 3], tf.constant(255, tf.uint8)))
    return model
