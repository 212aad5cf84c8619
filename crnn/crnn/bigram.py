"""A prior over neighbouring hanzi for decoding: a reading that makes a word with its neighbour wins a
close call.

Where the image leaves two readings of a character close (写 / 零 in a thin Ming at 14 px, 商 / 面),
the glyph alone cannot decide, but the word can: 大写 and 商贸 are words, 大零 and 面贸 are not.
After greedy decoding, each character the best path emits gets up to `CANDIDATES` readings: the
classes of highest probability at the step where its run is surest, those within `MARGIN` nats of
the best. Viterbi then picks one reading per character, maximising

    sum of log p(reading | image)  +  sum of bonus(previous reading, reading)

where bonus(a, b) = weight * log(1 + count(ab) / SCALE) and count(ab) is how often the pair occurs
inside real words. The bonus is never negative: a pair the dictionary lacks (most pairs across a
word boundary, names, random strings) costs nothing, so the prior can prefer a word but never break
one up. Only readings are swapped: no character is added or dropped, so the steps (and the
service's per-character boxes) stay those of the best path. And only hanzi are: a digit, letter or
mark that the best path reads keeps its reading, and no hanzi becomes one (1 before 个 stays 1,
however common 一个 is: the glyphs differ, and a number is worth more than a word).

Why counts and not pointwise mutual information: the PMI of 大写 is below zero (大 begins thousands of
words), yet what decides 写 against 零 after 大 is that 大写 is a word and 大零 is not. On the
validation pages both scored alike (line CER 1.26% from 1.41%, the truth's boxes).

Pairs: each word of the dictionary of jieba 0.42.1 (MIT licence, see `crnn.prior`) adds its
frequency to each pair of adjacent hanzi in it; pairs seen less than `MIN_COUNT` times are dropped
(108,882 stay), shipped as `frequencies/hanzi_pairs.tsv` (`python -m crnn.bigram --jieba-dict
<jieba>/dict.txt` writes it again).

The lookup is a sorted constant of the graph (`tf.searchsorted`), not a hash table, so the
SavedModel stays plain constants and TF Serving and the in-process runner decode alike.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import tensorflow as tf

from crnn.charset import BLANK, Charset
from crnn.decode import best_path
from crnn.prior import counts_command, is_hanzi, jieba_words, read_counts

# Chosen on the held-out typefaces' validation pages (seed 777, 60 pages, the truth's boxes; never the
# test pages) from crnn/6's logits: line CER 1.41% -> 1.26 / 1.27 / 1.30% at weight 0.4 / 0.6 / 0.8
# (the PMI of the pairs instead of their counts: 1.26 / 1.27 / 1.28%); a margin of 1.5 nats instead
# of 3: 1.28%. Our own set (seed 12345): 0.37% at 0.4 and 0.6, as without the prior.
# models/README.md has the figures end to end.
WEIGHT = 0.4
# a pair's bonus grows with log(1 + count / SCALE): 0.28 at the least count kept, 3.0 at 16,674 (完成)
SCALE = 10.0
MARGIN = 3.0  # nats below the best reading of a character; a farther reading is not a candidate
CANDIDATES = 5  # readings per character at most
MIN_COUNT = 10  # pairs rarer than this in the dictionary are dropped (大写: 69)
PAIRS_FILE = "hanzi_pairs.tsv"


def real_pairs() -> dict[str, int]:
    """Counts of adjacent hanzi pairs in real words (the package's `frequencies/hanzi_pairs.tsv`)."""
    return read_counts(PAIRS_FILE)


def pairs_from_jieba(dict_path: Path, min_count: int = MIN_COUNT) -> Counter[str]:
    """Adjacent hanzi pairs of a jieba dictionary, each counted with the frequencies of the words it
    is in; pairs under `min_count` dropped."""
    counts: Counter[str] = Counter()
    for word, frequency in jieba_words(dict_path):
        for a, b in zip(word, word[1:], strict=False):
            if is_hanzi(a) and is_hanzi(b):
                counts[a + b] += frequency
    return Counter({pair: n for pair, n in counts.items() if n >= min_count})


def pair_table(cs: Charset, pairs: dict[str, int], weight: float = WEIGHT) -> tuple[np.ndarray, np.ndarray]:
    """(keys int64 [P] sorted, bonus float32 [P]): key a * num_classes + b and weight * log(1 + count
    / SCALE) of each pair of the charset's hanzi."""
    table = {
        cs.index(p[0]) * cs.num_classes + cs.index(p[1]): weight * math.log1p(n / SCALE)
        for p, n in pairs.items()
        if p[0] in cs and p[1] in cs
    }
    keys = np.array(sorted(table), dtype=np.int64)
    return keys, np.array([table[k] for k in keys.tolist()], dtype=np.float32)


def hanzi_classes(cs: Charset) -> np.ndarray:
    """bool [C]: which classes are hanzi (the blank is not), the readings `rescore` may swap."""
    hanzi = np.zeros(cs.num_classes, bool)
    hanzi[[cs.index(c) for c in cs.chars if is_hanzi(c)]] = True
    return hanzi


def _lookup(keys: tf.Tensor, bonus: tf.Tensor, query: tf.Tensor) -> tf.Tensor:
    """bonus of each query key (int64, any shape), 0 where the table lacks it; `keys` end with a
    sentinel that is never a key (see :func:`rescore`)."""
    flat = tf.reshape(query, [-1])
    pos = tf.minimum(tf.searchsorted(keys, flat), tf.size(keys, out_type=tf.int32) - 1)
    hit = tf.equal(tf.gather(keys, pos), flat)
    return tf.reshape(tf.where(hit, tf.gather(bonus, pos), 0.0), tf.shape(query))


def rescore(
    logits: tf.Tensor,
    seq_lengths: tf.Tensor,
    labels: tf.Tensor,
    keys: tf.Tensor,
    bonus: tf.Tensor,
    hanzi: tf.Tensor,
    margin: float = MARGIN,
    candidates: int = CANDIDATES,
) -> tuple[tf.Tensor, tf.Tensor]:
    """The best path's labels [N, L] (-1 padded, :func:`crnn.decode.greedy_decode`'s) with each
    character's reading chosen by Viterbi over its candidates -> (labels [N, L], the probability of
    each chosen reading at its surest step [N, L], 0 padded).

    `keys` / `bonus`: :func:`pair_table` as tensors; an empty table leaves every label as it was.
    `hanzi`: :func:`hanzi_classes` as a tensor; a character read as anything else keeps its reading.
    """
    # a sentinel that is never a key ends the table once, so a lookup always has a last entry to
    # clip to (an empty table works too)
    keys = tf.concat([keys, [np.iinfo(np.int64).max]], axis=0)
    bonus = tf.concat([bonus, [0.0]], axis=0)
    logits = tf.cast(logits, tf.float32)
    num_classes = tf.shape(logits)[2]
    n, steps = tf.shape(logits)[0], tf.shape(logits)[1]
    best, top, starts = best_path(logits, seq_lengths)
    # every valid non-blank step is in the run of the last character started
    in_run = tf.sequence_mask(seq_lengths, maxlen=steps) & tf.not_equal(best, BLANK)
    char = tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1
    # the surest step of each character's run: a segment per (line, character), a spare one for the rest
    segment = tf.where(in_run, tf.range(n)[:, None] * steps + char, n * steps)
    surest = tf.math.unsorted_segment_max(top, segment, n * steps + 1)
    is_surest = in_run & tf.equal(top, tf.gather(surest, segment))
    step_ids = tf.broadcast_to(tf.range(steps)[None, :], tf.shape(best))
    first = tf.math.unsorted_segment_min(tf.where(is_surest, step_ids, steps), segment, n * steps + 1)
    has_char = labels >= 0
    peak = tf.reshape(first[:-1], [n, steps])[:, : tf.shape(labels)[1]]
    peak = tf.where(has_char, tf.minimum(peak, steps - 1), 0)
    # the candidates at that step (log-softmax of its logits), never the blank: a reading is swapped,
    # never dropped. Only the characters' steps are normalised, not every step of the line.
    at_peak = tf.nn.log_softmax(tf.gather(logits, peak, batch_dims=1), axis=-1)
    # a character read as a hanzi may become another hanzi (never the blank); one read as anything
    # else has its own reading as its one candidate
    own = tf.maximum(labels, 0)
    allowed = tf.where(
        (has_char & tf.gather(hanzi, own))[..., None], hanzi[None, None, :], tf.one_hot(own, num_classes) > 0
    )
    values, ids = tf.math.top_k(tf.where(allowed, at_peak, at_peak - 1e9), k=candidates)
    values = tf.where(values >= values[..., :1] - margin, values, -1e9)

    def forward(carry, inputs):
        score, prev_ids, _ = carry
        cur_ids, cur_values, live = inputs
        key = (
            tf.cast(prev_ids, tf.int64)[:, :, None] * tf.cast(num_classes, tf.int64)
            + tf.cast(cur_ids, tf.int64)[:, None, :]
        )
        key = tf.where(prev_ids[:, :, None] >= 0, key, -1)  # nothing before a line's first character
        total = score[:, :, None] + _lookup(keys, bonus, key)
        back = tf.argmax(total, axis=1, output_type=tf.int32)
        keep = live[:, None]  # past a line's end the scores and readings stay as they were
        return (
            tf.where(keep, tf.reduce_max(total, axis=1) + cur_values, score),
            tf.where(keep, cur_ids, prev_ids),
            tf.where(keep, back, tf.broadcast_to(tf.range(candidates)[None, :], tf.shape(back))),
        )

    def backward(carry, inputs):
        j, _, _ = carry
        cur_ids, cur_values, back = inputs
        return (
            tf.gather(back, j, batch_dims=1),
            tf.gather(cur_ids, j, batch_dims=1),
            tf.gather(cur_values, j, batch_dims=1),
        )

    def viterbi():
        by_char = (tf.transpose(ids, [1, 0, 2]), tf.transpose(values, [1, 0, 2]), tf.transpose(has_char))
        zeros = tf.zeros([n, candidates], tf.int32)
        scores, _, backs = tf.scan(
            forward, by_char, initializer=(tf.zeros([n, candidates]), zeros - 1, zeros)
        )
        _, chosen, chosen_values = tf.scan(
            backward,
            (by_char[0], by_char[1], backs),
            initializer=(tf.argmax(scores[-1], axis=1, output_type=tf.int32), zeros[:, 0], tf.zeros([n])),
            reverse=True,
        )
        return tf.transpose(chosen), tf.transpose(chosen_values)

    # a batch without a character (blank crops) has nothing to scan
    chosen, chosen_values = tf.cond(
        tf.shape(labels)[1] > 0, viterbi, lambda: (labels, tf.zeros(tf.shape(labels)))
    )
    return tf.where(has_char, chosen, -1), tf.where(has_char, tf.exp(chosen_values), 0.0)


def main(argv: list[str] | None = None) -> None:
    counts, out = counts_command(
        argv,
        PAIRS_FILE,
        pairs_from_jieba,
        "pair\tcount: adjacent hanzi in a word of the dictionary of jieba 0.42.1 (jieba/dict.txt), with\n"
        f"# the word's frequency added to each; pairs under {MIN_COUNT} dropped; written by\n"
        "# python -m crnn.bigram.",
    )
    print(f"{len(counts)} pairs -> {out}")


if __name__ == "__main__":
    main()
