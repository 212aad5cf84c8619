"""Detector speed on a 1000x800 page with 10 lines: model forward and post-processing, median ms.

Usage: python bench/ctpn_speed.py [--model models/ctpn/1] [--repeats 20]
Without --model an untrained network of the same architecture is timed (same cost as trained for
the forward pass; post-processing time depends on what the model finds).
"""

import argparse
import time
from pathlib import Path

import numpy as np


def page(rng: np.random.Generator) -> np.ndarray:
    """1000x800 RGB with 10 rendered lines (the tests' stand-in fonts: no synth package needed)."""
    from ocrstack_testing.standin_docs import find_fonts
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (800, 1000), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(find_fonts()[0], 24)
    for i in range(10):
        xy = (40 + int(rng.integers(0, 80)), 60 + 90 * i)
        draw.text(xy, "Invoice total 1234.56 EUR", font=font, fill="black")
    return np.asarray(img)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", type=Path, default=None)
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()

    import tensorflow as tf
    from ctpn.postprocess import detect_lines
    from ctpn.preprocess import prepare

    if args.model:
        fn = tf.saved_model.load(str(args.model)).signatures["serving_default"]

        def forward(x):
            return fn(image=tf.constant(x))
    else:
        from ctpn.network import build

        model = build()
        spec = [tf.TensorSpec([None, None, None, 3], tf.uint8)]
        forward = tf.function(lambda x: model(x, training=False), input_signature=spec)

    image = page(np.random.default_rng(0))
    pre, fwd, post, n = [], [], [], 0
    for i in range(args.repeats + 2):
        t0 = time.perf_counter()
        x, scale = prepare(image)
        t1 = time.perf_counter()
        out = {k: v.numpy() for k, v in forward(x[None]).items()}
        t2 = time.perf_counter()
        quads = detect_lines(out, image, scale)
        t3 = time.perf_counter()
        if i >= 2:  # the first calls trace and warm up
            pre.append(t1 - t0)
            fwd.append(t2 - t1)
            post.append(t3 - t2)
            n = len(quads)
    ms = lambda v: 1000 * float(np.median(v))  # noqa: E731
    print(f"input {x.shape[1]}x{x.shape[0]}: prepare {ms(pre):.1f} ms, forward {ms(fwd):.1f} ms, "
          f"post-process {ms(post):.1f} ms, total {ms(np.add(np.add(pre, fwd), post)):.1f} ms; {n} lines")


if __name__ == "__main__":
    main()
