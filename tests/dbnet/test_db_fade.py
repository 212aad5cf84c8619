"""Faded print, as DB's training draws it for a share of each batch."""

import numpy as np
import tensorflow as tf
from dbnet.train import fade_ink


def test_faded_print_keeps_the_paper_and_lightens_the_ink():
    page = np.array([[[[255, 255, 255], [0, 0, 0], [155, 155, 155]]]] * 2, np.uint8)  # paper, ink, grey
    out = fade_ink(tf.constant(page), tf.constant([0.2, 1.0])).numpy()
    assert out[0, 0].tolist() == [[255] * 3, [204] * 3, [235] * 3]  # darkness 255 -> 51, 100 -> 20
    assert out[1].tolist() == page[1].tolist()  # factor 1: unchanged
