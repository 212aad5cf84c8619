"""CRNN inference speed on this CPU: a batch of 10 crops 32x300 through the Keras model and, if given,
an exported SavedModel signature (decode included).

    python bench/crnn_speed.py [--savedmodel models/crnn/1] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import tensorflow as tf
from crnn.charset import load
from crnn.network import build_crnn


def _time(fn, repeats: int) -> tuple[float, float]:
    fn()  # trace / warm up
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times)), float(np.min(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--savedmodel", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(10, 32, 304, 1), dtype=np.uint8)
    widths = np.full((10,), 300, np.int32)

    model = build_crnn(load().num_classes)
    fn = tf.function(lambda x, w: model([x, w], training=False))
    med, best = _time(lambda: fn(images, widths).numpy(), args.repeats)
    print(f"keras model, 10 x 32x300: median {med:.1f} ms, best {best:.1f} ms ({args.threads} threads)")
    if args.savedmodel:
        sig = tf.saved_model.load(args.savedmodel).signatures["serving_default"]
        med, best = _time(lambda: sig(images=tf.constant(images), widths=tf.constant(widths)), args.repeats)
        print(f"SavedModel serving_default (with decode): median {med:.1f} ms, best {best:.1f} ms")


if __name__ == "__main__":
    main()
