"""`ctpn-train`: time-bounded, resumable training on random crops of synthetic documents."""

import argparse

import numpy as np

from ctpn.loop import arguments, real_pages_note, run, start

CONFIG = {"window": 256, "lstm": 128, "fc": 512}


def parse_args(argv=None) -> argparse.Namespace:
    return arguments(__doc__, "ctpn", CONFIG, real_share=0.5).parse_args(argv)


def main(argv=None) -> dict:
    """Train; returns {"step": global step reached, "losses": total loss of each step of this run}."""
    args = parse_args(argv)
    real_pages_note(args)
    from ctpn.data import ExampleStream  # spawn the data worker before TensorFlow starts threads

    stream = ExampleStream(seed=args.seed, size=args.crop, real=tuple(args.real), real_share=args.real_share)
    import tensorflow as tf

    from ctpn.loss import ctpn_loss
    from ctpn.network import build, weights

    np.random.seed(args.seed)
    model, optimizer, manager, step, _ = start(args, build, weights, CONFIG)

    spec = tf.TensorSpec
    signature = [
        spec([None, None, None, 3], tf.uint8),
        spec([None, None, None, 10], tf.int8),
        spec([None, None, None, 10, 2], tf.float32),
        spec([None, None, None, 10], tf.float32),
        spec([None, None, None, 10], tf.float32),
        spec([None, None, None, 10], tf.float32),
    ]

    @tf.function(input_signature=signature)
    def train_step(image, labels, v_targets, v_mask, side_targets, side_mask):
        with tf.GradientTape() as tape:
            out = model(image, training=True)
            parts = ctpn_loss(out, labels, v_targets, v_mask, side_targets, side_mask)
        grads = tape.gradient(parts["total"], model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        step.assign_add(1)
        pred = out["cls_prob"] > 0.5
        lab = tf.cast(labels, tf.int32)
        tp = tf.reduce_sum(tf.cast(pred & (lab == 1), tf.float32))
        fp = tf.reduce_sum(tf.cast(pred & (lab == 0), tf.float32))
        fn = tf.reduce_sum(tf.cast(~pred & (lab == 1), tf.float32))
        return parts, tp, fp, fn

    fields = ("image", "labels", "v_targets", "v_mask", "side_targets", "side_mask")
    losses = run("ctpn", args, stream, fields, train_step, optimizer, step, manager)
    return {"step": int(step), "losses": losses}


def cli() -> None:
    main()


if __name__ == "__main__":
    cli()
