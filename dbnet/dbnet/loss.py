"""DB loss: ALPHA x balanced BCE on the probability map + BETA x L1 on the threshold map + dice on the
binary map, with PaddleOCR's DBLoss weights (alpha 5, beta 10) and hard negatives at 3 per positive
(BalanceLoss negative_ratio 3: the negatives with the largest loss, the rest of the paper ignored).
"""

from __future__ import annotations

import tensorflow as tf

ALPHA, BETA = 5.0, 10.0
NEGATIVE_RATIO = 3.0
EPS = 1e-6


def balanced_bce(prob, gt, mask) -> tf.Tensor:
    """Mean BCE over the positives and the NEGATIVE_RATIO x as many hardest negatives."""
    bce = tf.keras.backend.binary_crossentropy(gt, prob)  # clips prob away from 0 and 1
    positive = gt * mask
    negative = (1.0 - gt) * mask
    n_pos = tf.reduce_sum(positive)
    n_neg = tf.minimum(tf.reduce_sum(negative), n_pos * NEGATIVE_RATIO)
    hardest, _ = tf.math.top_k(tf.reshape(bce * negative, [-1]), k=tf.cast(n_neg, tf.int32))
    return (tf.reduce_sum(bce * positive) + tf.reduce_sum(hardest)) / (n_pos + n_neg + EPS)


def masked_l1(pred, gt, mask) -> tf.Tensor:
    return tf.reduce_sum(tf.abs(pred - gt) * mask) / (tf.reduce_sum(mask) + EPS)


def dice(pred, gt, mask) -> tf.Tensor:
    intersection = tf.reduce_sum(pred * gt * mask)
    union = tf.reduce_sum(pred * mask) + tf.reduce_sum(gt * mask) + EPS
    return 1.0 - 2.0 * intersection / union


def db_loss(outputs: dict, shrink_map, shrink_mask, thresh_map, thresh_mask) -> dict:
    """Loss parts (scalars): prob, thresh, binary, total. Maps as made by `dbnet.targets`."""
    prob = balanced_bce(outputs["prob"], shrink_map, shrink_mask)
    thresh = masked_l1(outputs["thresh"], thresh_map, thresh_mask)
    binary = dice(outputs["binary"], shrink_map, shrink_mask)
    return {"prob": prob, "thresh": thresh, "binary": binary, "total": ALPHA * prob + BETA * thresh + binary}
