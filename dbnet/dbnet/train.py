"""`dbnet-train`: time-bounded, resumable DB training on crops of synthetic and real pages."""

from __future__ import annotations

import argparse
from pathlib import Path

CONFIG = {"fpn": 32, "head": 16}
MAP_NAMES = ("shrink_map", "shrink_mask", "thresh_map", "thresh_mask")
# Faded print: a share of the crops of each batch has its ink lightened towards the paper, to 20-100%
# of its darkness. Three of the first 20 held-back receipts of sroie/train print this faint (their
# darkest percent at grey 174-194): the network at step 2000 found no line on two of them and two on
# the third, where CTPN found them all.
FADE_SHARE, FADE_RANGE = 0.5, (0.2, 1.0)


def fade_ink(image, factor):
    """uint8 images [N, H, W, 3] with every pixel's darkness (255 - value) times `factor` [N]: the
    paper stays, the ink lightens."""
    import tensorflow as tf

    darkness = 255.0 - tf.cast(image, tf.float32)
    return tf.cast(tf.round(255.0 - darkness * tf.reshape(factor, [-1, 1, 1, 1])), tf.uint8)


def parse_args(argv=None) -> argparse.Namespace:
    from ctpn.loop import arguments

    p = arguments(__doc__, "dbnet", CONFIG, real_share=0.3)
    p.add_argument("--workers", type=int, default=1, help="data worker processes")
    p.add_argument(
        "--trunk-from", type=Path, default=None, metavar="CTPN_MODEL",
        help="first run only: start the trunk from an exported CTPN's (models/ctpn/<version>)",
    )  # fmt: skip
    return p.parse_args(argv)


def main(argv=None) -> dict:
    """Train; returns {"step": global step reached, "losses": total loss of each step of this run}."""
    from ctpn.data import ExampleStream
    from ctpn.loop import real_pages_note, run, start

    from dbnet.data import db_targets

    args = parse_args(argv)
    real_pages_note(args)
    # the data workers start before TensorFlow starts its threads
    stream = ExampleStream(
        seed=args.seed, size=args.crop, workers=args.workers, real=tuple(args.real),
        real_share=args.real_share, targets=db_targets,
    )  # fmt: skip
    import tensorflow as tf
    from ctpn.network import weights  # stable variable paths, the same for every network

    from dbnet.loss import db_loss
    from dbnet.network import build, init_trunk_from_ctpn
    from dbnet.postprocess import THRESH

    model, optimizer, manager, step, resumed = start(args, build, weights, CONFIG)
    if not resumed and not args.init_from and args.trunk_from:
        copied = init_trunk_from_ctpn(model, args.trunk_from)
        print(f"initialised the trunk from {args.trunk_from} ({copied} arrays)", flush=True)

    maps = [tf.TensorSpec([None, None, None], tf.float32)] * len(MAP_NAMES)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8), *maps])
    def train_step(image, shrink_map, shrink_mask, thresh_map, thresh_mask):
        n = tf.shape(image)[0]
        faded = tf.random.uniform([n]) < FADE_SHARE
        image = fade_ink(image, tf.where(faded, tf.random.uniform([n], *FADE_RANGE), 1.0))
        with tf.GradientTape() as tape:
            out = model(image, training=True)
            parts = db_loss(out, shrink_map, shrink_mask, thresh_map, thresh_mask)
        grads = tape.gradient(parts["total"], model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        step.assign_add(1)
        # pixel precision / recall of the kernels at the serving threshold, on the loss's pixels
        pred = tf.cast(out["prob"] > THRESH, tf.float32) * shrink_mask
        tp = tf.reduce_sum(pred * shrink_map)
        return parts, tp, tf.reduce_sum(pred) - tp, tf.reduce_sum(shrink_map * shrink_mask) - tp

    losses = run("dbnet", args, stream, ("image", *MAP_NAMES), train_step, optimizer, step, manager)
    return {"step": int(step), "losses": losses}


def cli() -> None:
    main()


if __name__ == "__main__":
    cli()
