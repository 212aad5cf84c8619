"""Greedy CTC decoding as dense TF ops (exportable, TF Serving safe) plus a numpy reference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from crnn.charset import BLANK


def greedy_decode(logits: tf.Tensor, seq_lengths: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Logits [N, T, C] -> (labels int32 [N, L] padded with -1, confidence float32 [N]).

    Best path: argmax per step, collapse repeats, drop blanks, ignore steps >= seq_length.
    Confidence is the mean max-softmax over emitted characters (1.0 for an empty line).
    """
    best, best_p, keep = best_path(logits, seq_lengths)
    labels = tf.ragged.boolean_mask(best, keep).to_tensor(default_value=-1)
    return labels, line_confidence(best_p, keep)


def line_confidence(probs: tf.Tensor, emitted: tf.Tensor) -> tf.Tensor:
    """[N, K] probabilities and [N, K] bool (which count) -> float32 [N]: the mean probability of the
    emitted characters of each line, 1.0 for a line without one."""
    emitted_f = tf.cast(emitted, tf.float32)
    count = tf.reduce_sum(emitted_f, axis=1)
    return tf.where(count > 0, tf.reduce_sum(probs * emitted_f, axis=1) / tf.maximum(count, 1.0), 1.0)


def best_path(logits: tf.Tensor, seq_lengths: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(argmax id, its probability, emitted?) per step: an emitted step starts a non-blank run."""
    probs = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
    best = tf.argmax(probs, axis=-1, output_type=tf.int32)
    best_p = tf.reduce_max(probs, axis=-1)
    valid = tf.sequence_mask(seq_lengths, maxlen=tf.shape(best)[1])
    prev = tf.pad(best[:, :-1], [[0, 0], [1, 0]], constant_values=-1)
    keep = valid & tf.not_equal(best, prev) & tf.not_equal(best, BLANK)
    return best, best_p, keep


def char_positions(logits: tf.Tensor, seq_lengths: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Per character of :func:`greedy_decode`'s labels (same [N, L] layout): the time step where the
    best path emits it (int32, -1 padded) and its max-softmax probability (float32, 0 padded).

    A step covers the model's stride in pixel columns of the input crop (`crnn.export` turns steps
    into crop columns), so the service can place each character along its line (per-character
    boxes) and report its own confidence.
    """
    _, best_p, keep = best_path(logits, seq_lengths)
    steps = tf.broadcast_to(tf.range(tf.shape(keep)[1], dtype=tf.int32)[None, :], tf.shape(keep))
    char_steps = tf.ragged.boolean_mask(steps, keep).to_tensor(default_value=-1)
    char_probs = tf.ragged.boolean_mask(best_p, keep).to_tensor(default_value=0.0)
    return char_steps, char_probs


def labels_to_text(labels: tf.Tensor, chars: Sequence[str]) -> tf.Tensor:
    """Class ids [N, L] (-1 padded) -> UTF-8 strings [N] via a constant lookup table in the graph."""
    table = tf.constant([""] + list(chars), dtype=tf.string)
    ragged = tf.ragged.boolean_mask(labels, labels > 0)
    return tf.strings.reduce_join(tf.gather(table, ragged), axis=-1)


def collapse(best: Sequence[int], length: int) -> list[int]:
    """Best-path ids of one line -> labels: first ``length`` steps, repeats merged, blanks dropped."""
    out, prev = [], -1
    for k in list(best)[: int(length)]:
        if k != prev and k != BLANK:
            out.append(int(k))
        prev = k
    return out


def greedy_decode_np(probs: np.ndarray, lengths: Sequence[int]) -> tuple[list[list[int]], list[float]]:
    """Pure numpy reference of :func:`greedy_decode` (works on probabilities or logits' softmax)."""
    out, confs = [], []
    for row, n in zip(np.asarray(probs), lengths, strict=True):
        row = row[: int(n)]
        best = row.argmax(axis=-1) if len(row) else np.zeros((0,), int)
        ids, ps, prev = [], [], -1
        for t, k in enumerate(best):
            if k != prev and k != BLANK:
                ids.append(int(k))
                ps.append(float(row[t, k]))
            prev = k
        out.append(ids)
        confs.append(float(np.mean(ps)) if ps else 1.0)
    return out, confs
