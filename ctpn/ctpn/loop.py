"""The time-bounded, resumable training of the detectors (`ctpn-train`, `dbnet-train`).

A run lives in a folder: config.json (the network's widths, fixed at its first launch) and ckpt/
(weights, optimizer slots and the step, every few minutes and on the way out, SIGTERM and SIGHUP
included). Each launch has a wall-clock budget over which the learning rate steps down.
"""

from __future__ import annotations

import argparse
import json
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def arguments(
    description: str, model: str, config: dict[str, int], real_share: float
) -> argparse.ArgumentParser:
    """The options every detector's training takes; `config`'s widths become --<name> options."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--run-dir", type=Path, default=Path("runs") / model)
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
        help=f"first run only: start from the weights of an exported model (models/{model}/<version>)",
    )  # fmt: skip
    p.add_argument(
        "--real", action="append", default=[], type=Path, metavar="DIR",
        help="a folder of labelled pages (truth.json, see ocr_synth.labelled) to mix in; repeatable",
    )  # fmt: skip
    p.add_argument(
        "--real-share", type=float, default=real_share, help="share of documents drawn from --real"
    )
    for name, value in config.items():
        p.add_argument(f"--{name}", type=int, default=value, help="network width (kept in config.json)")
    return p


def learning_rate(base: float, frac: float) -> float:
    """Step schedule over the time budget: full rate, then /3 after 60 %, /10 after 85 %."""
    return base if frac < 0.6 else base / 3 if frac < 0.85 else base / 10


def real_pages_note(args: argparse.Namespace) -> None:
    """Check --real and --real-share before anything starts; say how many pages a run mixes in."""
    if not args.real:
        return
    if not 0.0 < args.real_share <= 1.0:
        raise SystemExit(f"--real-share must be in (0, 1], got {args.real_share}")
    from ocr_synth.labelled import load_folder

    counts = [len(load_folder(folder)) for folder in args.real]  # a bad folder fails here, clearly
    share = f"{args.real_share:.0%}"
    print(f"real pages: {sum(counts)} from {len(args.real)} folder(s), {share} of documents", flush=True)


def run_config(run_dir: Path, args: argparse.Namespace, names: Sequence[str]) -> dict:
    """The network's widths: config.json's when the run resumes, else the arguments' (then saved)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "config.json"
    if path.exists():
        return json.loads(path.read_text())
    config = {name: getattr(args, name) for name in names}
    path.write_text(json.dumps(config))
    return config


def checkpoints(run_dir: Path, variables: dict, optimizer, trainable):
    """(manager, step, resumed): the run's checkpoints, restored from the latest if there is one."""
    import tensorflow as tf

    step = tf.Variable(0, dtype=tf.int64, name="step")
    optimizer.build(trainable)
    ckpt = tf.train.Checkpoint(
        model=variables, optimizer={v.path.replace("/", "."): v for v in optimizer.variables}, step=step
    )
    manager = tf.train.CheckpointManager(ckpt, run_dir / "ckpt", max_to_keep=3)
    if not manager.latest_checkpoint:
        return manager, step, False
    ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    print(f"resumed from {manager.latest_checkpoint} at step {int(step)}", flush=True)
    return manager, step, True


def init_from_savedmodel(model, saved_model_dir: Path) -> None:
    """Warm start: the weights of a model exported by ctpn-export or dbnet-export, of the same widths."""
    import tensorflow as tf

    variables = Path(saved_model_dir) / "variables" / "variables"
    if not variables.with_suffix(".index").exists():
        raise SystemExit(f"{saved_model_dir} is not a SavedModel written by ctpn-export or dbnet-export")
    # the exports (ctpn.export.Serving, dbnet.export.Serving) track the variables as `variables_`, in order
    try:
        tf.train.Checkpoint(variables_=list(model.variables)).read(
            str(variables)
        ).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError) as exc:
        raise SystemExit(
            f"{saved_model_dir} does not fit this run's network (other widths in its config.json?): {exc}"
        ) from exc


def start(args: argparse.Namespace, build: Callable, weights: Callable, config: dict):
    """(model, optimizer, manager, step, resumed): the run's network (its config.json's widths, or
    `config`'s names read from the arguments), restored from its latest checkpoint, or on a first
    launch started from --init-from's exported weights if given."""
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.random.set_seed(args.seed)
    model = build(**run_config(args.run_dir, args, config))  # a resumed run keeps its network
    optimizer = tf.keras.optimizers.Adam(args.lr, clipnorm=5.0)
    manager, step, resumed = checkpoints(args.run_dir, weights(model), optimizer, model.trainable_variables)
    if not resumed and args.init_from:
        init_from_savedmodel(model, args.init_from)
        print(f"initialised the weights from {args.init_from}", flush=True)
    return model, optimizer, manager, step, resumed


def run(
    name: str,
    args: argparse.Namespace,
    stream,
    fields: Sequence[str],
    train_step: Callable,
    optimizer,
    step,
    manager,
) -> list[float]:
    """Train until the budget or --max-steps; returns each step's total loss.

    `train_step(*batch[fields])` -> (loss parts with "total", tp, fp, fn): the bar shows the parts'
    moving averages and the precision and recall those counts give.
    """
    from tqdm import tqdm

    def stop(signum, frame):  # SIGTERM/SIGHUP: leave through `finally`, which saves a checkpoint
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    start = last_save = time.monotonic()
    budget = args.minutes * 60
    ema: dict[str, float] = {}
    losses: list[float] = []
    counts = np.zeros(3)
    bar = tqdm(initial=int(step), desc=name, unit="step", mininterval=5.0, dynamic_ncols=False, ncols=150)
    try:
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= budget or (args.max_steps and int(step) >= args.max_steps):
                break
            optimizer.learning_rate.assign(learning_rate(args.lr, elapsed / budget))
            b = stream.batch(args.batch)
            parts, tp, fp, fn = train_step(*(b[f] for f in fields))
            losses.append(float(parts["total"]))
            for k, v in parts.items():
                ema[k] = float(v) if k not in ema else 0.98 * ema[k] + 0.02 * float(v)
            counts = 0.98 * counts + np.array([float(tp), float(fp), float(fn)])
            prec = counts[0] / max(counts[0] + counts[1], 1e-9)
            rec = counts[0] / max(counts[0] + counts[2], 1e-9)
            bar.update(1)
            shown = " ".join(f"{k} {v:.3f}" for k, v in ema.items() if k != "total")
            bar.set_postfix_str(
                f"loss {ema['total']:.3f} {shown} P {prec:.3f} R {rec:.3f} "
                f"lr {float(optimizer.learning_rate):.0e}",
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
    return losses
