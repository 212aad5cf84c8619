"""DB's loss: hard negatives at three per positive, masks respected."""

import numpy as np
import tensorflow as tf
from dbnet.loss import balanced_bce, db_loss


def bce(p, y):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def test_only_the_three_hardest_negatives_per_positive_count():
    gt = np.array([[1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], np.float32)
    prob = np.array([[0.9, 0.6, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.01]], np.float32)
    mask = np.ones_like(gt)
    expected = (bce(prob[0, :2], 1).sum() + bce(prob[0, 2:8], 0).sum()) / 8  # 2 positives, 6 negatives
    assert np.isclose(float(balanced_bce(prob, gt, mask)), expected, rtol=1e-5)


def test_masked_pixels_do_not_count():
    gt = np.array([[1, 0, 0]], np.float32)
    prob = np.array([[0.9, 0.99, 0.1]], np.float32)
    mask = np.array([[1, 0, 1]], np.float32)  # the confident false positive is an ignored line
    assert np.isclose(float(balanced_bce(prob, gt, mask)), (bce(0.9, 1) + bce(0.1, 0)) / 2, rtol=1e-5)


def test_a_perfect_prediction_costs_almost_nothing_and_a_blank_one_a_lot():
    shrink = np.zeros((1, 16, 16), np.float32)
    shrink[0, 6:9, 2:14] = 1
    ones = np.ones_like(shrink)
    thresh = np.full_like(shrink, 0.3)
    perfect = {"prob": tf.constant(shrink), "thresh": tf.constant(thresh), "binary": tf.constant(shrink)}
    blank = {k: tf.zeros_like(v) for k, v in perfect.items()}
    good = db_loss(perfect, shrink, ones, thresh, ones)
    bad = db_loss(blank, shrink, ones, thresh, ones)
    assert float(good["total"]) < 1e-3
    assert float(bad["total"]) > 10  # BCE of 16 at probability 0 on the positives, dice 1, L1 0.3

