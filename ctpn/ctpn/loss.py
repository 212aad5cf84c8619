"""CTPN loss: cross-entropy on sampled anchors + smooth-L1 on vertical and side targets."""

import tensorflow as tf

SIDE_WEIGHT = 2.0  # lambda_2 of the CTPN paper


def smooth_l1(x: tf.Tensor, sigma: float = 3.0) -> tf.Tensor:
    s2 = sigma * sigma
    ax = tf.abs(x)
    return tf.where(ax < 1.0 / s2, 0.5 * s2 * x * x, ax - 0.5 / s2)


def ctpn_loss(outputs: dict, labels, v_targets, v_mask, side_targets, side_mask) -> dict:
    """Loss parts (scalars): cls, v, side, total. Masks and labels as made by `ctpn.targets`."""
    labels = tf.cast(labels, tf.int32)
    valid = tf.cast(labels >= 0, tf.float32)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.maximum(labels, 0), outputs["cls_logits"])
    cls = tf.reduce_sum(ce * valid) / tf.maximum(tf.reduce_sum(valid), 1.0)
    v_mask = tf.cast(v_mask, tf.float32)
    v = tf.reduce_sum(smooth_l1(outputs["v_deltas"] - v_targets), -1)
    v = tf.reduce_sum(v * v_mask) / tf.maximum(tf.reduce_sum(v_mask), 1.0)
    side_mask = tf.cast(side_mask, tf.float32)
    side = smooth_l1(outputs["side_offsets"] - side_targets)
    side = tf.reduce_sum(side * side_mask) / tf.maximum(tf.reduce_sum(side_mask), 1.0)
    return {"cls": cls, "v": v, "side": side, "total": cls + v + SIDE_WEIGHT * side}
