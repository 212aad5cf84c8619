"""`ctpn-train`: time-bounded, resumable training on random crops of synthetic documents."""

import argparse
import json
import signal
import time
from pathlib import Path

import numpy as np

CONFIG = {"window": 256, "lstm": 128, "fc": 512}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--run-dir", type=Path, default=Path("runs/ctpn"))
    p.add_argument("--minutes", type=float, default=10.0, help="wall-clock budget of this invocation")
    p.add_argument("--max-steps", type=int, default=0, help="stop at this global step (0: no limit)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--crop", type=int, default=512)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--save-minutes", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=0, help="TensorFlow intra-op threads (0: default)")
    p.add_argument(
        "--init-from", type=Path, default=None,
        help="first run only: start from the weights of an exported model (models/ctpn/<version>)",
    )  # fmt: skip
    p.add_argument(
        "--real", action="append", default=[], type=Path, metavar="DIR",
        help="a folder of labelled pages (truth.json, see ocr_synth.labelled) to mix in; repeatable",
    )  # fmt: skip
    p.add_argument("--real-share", type=float, default=0.5, help="share of documents drawn from --real")
    for name, value in CONFIG.items():
        p.add_argument(f"--{name}", type=int, default=value, help="network width (kept in config.json)")
    return p.parse_args(argv)


def learning_rate(base: float, frac: float) -> float:
    """Step schedule over the time budget: full rate, then /3 after 60 %, /10 after 85 %."""
    return base if frac < 0.6 else base / 3 if frac < 0.85 else base / 10


def init_from_savedmodel(model, saved_model_dir: Path) -> None:
    """Warm start: the weights of a model exported by ctpn-export, of the same shape (config.json)."""
    import tensorflow as tf

    variables = Path(saved_model_dir) / "variables" / "variables"
    if not variables.with_suffix(".index").exists():
        raise SystemExit(f"{saved_model_dir} is not a SavedModel written by ctpn-export")
    # ctpn.export.Serving tracks the network's variables as the list `variables_`, in model order
    try:
        tf.train.Checkpoint(variables_=list(model.variables)).read(
            str(variables)
        ).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError) as exc:
        raise SystemExit(
            f"{saved_model_dir} does not fit this run's network (another --window, --lstm or --fc?): {exc}"
        ) from exc


def main(argv=None) -> dict:
    """Train; returns {"step": global step reached, "losses": total loss of each step of this run}."""
    args = parse_args(argv)
    if args.real and not 0.0 < args.real_share <= 1.0:
        raise SystemExit(f"--real-share must be in (0, 1], got {args.real_share}")
    if args.real:
        from ocr_synth.labelled import load_folder

        counts = [len(load_folder(folder)) for folder in args.real]  # a bad folder fails here, clearly
        share = f"{args.real_share:.0%}"
        print(f"real pages: {sum(counts)} from {len(args.real)} folder(s), {share} of documents", flush=True)
    from ctpn.data import ExampleStream  # spawn the data worker before TensorFlow starts threads

    stream = ExampleStream(seed=args.seed, size=args.crop, real=tuple(args.real), real_share=args.real_share)
    import tensorflow as tf
    from tqdm import tqdm

    from ctpn.loss import ctpn_loss
    from ctpn.network import build, weights

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.random.set_seed(args.seed)
    np.random.seed(args.seed)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    config_path = args.run_dir / "config.json"
    if config_path.exists():  # a resumed run keeps the network it started with
        config = json.loads(config_path.read_text())
    else:
        config = {name: getattr(args, name) for name in CONFIG}
        config_path.write_text(json.dumps(config))

    model = build(**config)
    optimizer = tf.keras.optimizers.Adam(args.lr, clipnorm=5.0)
    step = tf.Variable(0, dtype=tf.int64, name="step")
    optimizer.build(model.trainable_variables)
    ckpt = tf.train.Checkpoint(
        model=weights(model),
        optimizer={v.path.replace("/", "."): v for v in optimizer.variables},
        step=step,
    )
    manager = tf.train.CheckpointManager(ckpt, args.run_dir / "ckpt", max_to_keep=3)
    if manager.latest_checkpoint:
        ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        print(f"resumed from {manager.latest_checkpoint} at step {int(step)}", flush=True)
    elif args.init_from:
        init_from_savedmodel(model, args.init_from)
        print(f"initialised the weights from {args.init_from}", flush=True)

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

    def stop(signum, frame):  # SIGTERM/SIGHUP: leave through `finally`, which saves a checkpoint
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    start = time.monotonic()
    budget = args.minutes * 60
    last_save = start
    ema: dict[str, float] = {}
    losses: list[float] = []
    counts = np.zeros(3)
    bar = tqdm(initial=int(step), desc="ctpn", unit="step", mininterval=5.0, dynamic_ncols=False, ncols=150)
    try:
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= budget or (args.max_steps and int(step) >= args.max_steps):
                break
            optimizer.learning_rate.assign(learning_rate(args.lr, elapsed / budget))
            b = stream.batch(args.batch)
            parts, tp, fp, fn = train_step(
                b["image"], b["labels"], b["v_targets"], b["v_mask"], b["side_targets"], b["side_mask"]
            )
            losses.append(float(parts["total"]))
            for k, v in parts.items():
                ema[k] = float(v) if k not in ema else 0.98 * ema[k] + 0.02 * float(v)
            counts = 0.98 * counts + np.array([float(tp), float(fp), float(fn)])
            prec = counts[0] / max(counts[0] + counts[1], 1e-9)
            rec = counts[0] / max(counts[0] + counts[2], 1e-9)
            bar.update(1)
            bar.set_postfix_str(
                f"loss {ema['total']:.3f} cls {ema['cls']:.3f} v {ema['v']:.3f} side {ema['side']:.3f} "
                f"P {prec:.3f} R {rec:.3f} lr {float(optimizer.learning_rate):.0e}",
                refresh=False,
            )
            if time.monotonic() - last_save > args.save_minutes * 60:
                manager.save(checkpoint_number=int(step))
                last_save = time.monotonic()
    finally:
        bar.close()
        manager.save(checkpoint_number=int(step))
        stream.close()
        print(f"saved step {int(step)} to {manager.latest_checkpoint}; losses {ema}", flush=True)
    return {"step": int(step), "losses": losses}


def cli() -> None:
    main()


if __name__ == "__main__":
    cli()
