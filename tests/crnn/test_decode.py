import numpy as np
import pytest
import tensorflow as tf
from crnn.decode import collapse, greedy_decode, greedy_decode_np, labels_to_text


def _probs(rows, num_classes=5):
    """Rows of (class, p): the winning class gets p, the rest share 1 - p evenly."""
    t = max(len(r) for r in rows)
    out = np.full((len(rows), t, num_classes), 0.0, np.float32)
    for i, r in enumerate(rows):
        for j in range(t):
            k, p = r[j] if j < len(r) else (0, 1.0)
            out[i, j, :] = (1 - p) / (num_classes - 1)
            out[i, j, k] = p
    return out


CASES = _probs(
    [
        [(1, 0.9), (1, 0.8), (2, 0.6), (2, 0.7), (0, 0.9), (3, 0.5)],  # repeats collapse
        [(1, 0.9), (0, 0.9), (1, 0.7), (0, 0.9), (0, 0.9), (0, 0.9)],  # blank between repeats keeps both
        [(0, 0.9), (0, 0.8), (0, 0.9), (0, 0.9), (0, 0.9), (0, 0.9)],  # all blank
        [(4, 0.6), (0, 0.9), (2, 0.8), (3, 0.9), (3, 0.9), (1, 0.9)],  # length 3 masks the tail
    ]
)
LENGTHS = [6, 6, 6, 3]
EXPECTED_LABELS = [[1, 2, 3], [1, 1], [], [4, 2]]
EXPECTED_CONF = [(0.9 + 0.6 + 0.5) / 3, (0.9 + 0.7) / 2, 1.0, (0.6 + 0.8) / 2]


def test_numpy_reference_exact_numbers():
    labels, conf = greedy_decode_np(CASES, LENGTHS)
    assert labels == EXPECTED_LABELS
    assert conf == pytest.approx(EXPECTED_CONF, abs=1e-6)
    assert collapse([1, 1, 0, 1, 2, 2], 6) == [1, 1, 2]


def test_tf_decode_matches_reference_with_dense_padded_outputs():
    logits = np.log(CASES)  # softmax(log p) == p
    labels, conf = greedy_decode(tf.constant(logits), tf.constant(LENGTHS, tf.int32))
    assert labels.dtype == tf.int32 and conf.dtype == tf.float32
    assert labels.numpy().tolist() == [[1, 2, 3], [1, 1, -1], [-1, -1, -1], [4, 2, -1]]
    np.testing.assert_allclose(conf.numpy(), EXPECTED_CONF, atol=1e-6)


def test_labels_to_text_uses_the_charset_table():
    text = labels_to_text(tf.constant([[1, 3, -1], [-1, -1, -1], [2, 2, 2]]), ["a", "你", "c"])
    assert [t.decode() for t in text.numpy()] == ["ac", "", "你你你"]


def test_char_positions_give_each_emitted_characters_step_and_probability():
    from crnn.decode import char_positions

    logits = tf.math.log(tf.constant(CASES))  # softmax(log p) == p
    steps, probs = char_positions(logits, tf.constant(LENGTHS))
    labels, _ = greedy_decode(logits, tf.constant(LENGTHS))
    assert steps.shape == labels.shape  # aligned with the labels, same padding positions
    assert steps.numpy().tolist() == [[0, 2, 5], [0, 2, -1], [-1, -1, -1], [0, 2, -1]]
    np.testing.assert_allclose(
        probs.numpy(), [[0.9, 0.6, 0.5], [0.9, 0.7, 0.0], [0.0, 0.0, 0.0], [0.6, 0.8, 0.0]], rtol=1e-5
    )
