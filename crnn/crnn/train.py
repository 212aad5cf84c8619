"""crnn-train: CTC training on freshly rendered lines, time-bounded, resumable.

Rendering (~400 lines/s/core) is much faster than a training step, so batches are normally made of
fresh samples from one background renderer (bounded queue, so it idles instead of stealing CPU);
a replay pool tops batches up if the renderer ever falls behind.

The run dir holds `config.json` (model shape + charset, fixed at the first run and reused on resume)
and `ckpt/` (tf.train.CheckpointManager, keep 3). Restarting with the same run dir continues from
the latest checkpoint with its step counter.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class TrainConfig:
    run_dir: str
    minutes: float = 60.0
    seed: int = 0
    batch_size: int = 32
    batch_columns: int | None = None  # bound on lines x widest line's pixels per batch (None: none)
    steps: int | None = None
    lr: float = 1e-3
    warmup_steps: int = 300
    max_width: int = 512
    workers: int = 1
    pool_size: int = 30000
    min_pool: int = 256
    data_dir: str | None = None
    ckpt_minutes: float = 5.0
    init_from: str | None = None
    real: tuple[str, ...] = ()  # labelled folders (truth.json) mixed into training
    real_share: float = 0.5  # share of training lines drawn from `real` (when given)
    charset: str = "gb2312_l1"
    channels: tuple[int, int, int, int] = (32, 64, 128, 192)
    lstm_units: int = 128
    width_stride: int = 4
    threads: int = 2
    log_every: int = 10
    extra: dict = field(default_factory=dict)


GROUPS = 4  # batches drawn at once and sorted by width, so each batch pads little
MODEL_KEYS = ("charset", "channels", "lstm_units", "width_stride")


def _setup_tf(threads: int):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TF already initialised in this process (tests): keep its settings
        pass
    return tf


def _model_config(run_dir: Path, cfg: TrainConfig | None = None) -> dict:
    """Model shape stored in the run dir; written on the first run, authoritative afterwards."""
    path = run_dir / "config.json"
    if path.exists():
        return json.loads(path.read_text())
    assert cfg is not None, f"{path} missing"
    conf = {k: getattr(cfg, k) for k in MODEL_KEYS}
    conf["channels"] = list(conf["channels"])
    run_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(conf, indent=2) + "\n")
    return conf


def _build(conf: dict):
    from crnn.charset import load
    from crnn.network import build_crnn

    cs = load(conf["charset"])
    model = build_crnn(
        cs.num_classes, tuple(conf["channels"]), conf["lstm_units"], conf.get("width_stride", 4)
    )
    return model, cs


def load_model_from_run(run_dir: Path, checkpoint: str | None = None):
    """(keras model, charset, step) restored from a run dir's latest (or given) checkpoint."""
    import tensorflow as tf

    run_dir = Path(run_dir)
    model, cs = _build(_model_config(run_dir))
    step = tf.Variable(0, dtype=tf.int64)
    ckpt = tf.train.Checkpoint(model=model, step=step)
    path = checkpoint or tf.train.latest_checkpoint(str(run_dir / "ckpt"))
    if path is None:
        raise FileNotFoundError(f"no checkpoint in {run_dir / 'ckpt'}")
    # every layer of this model must find its weights: a checkpoint of another architecture fails
    # here instead of leaving layers at their random initial values
    ckpt.restore(path).expect_partial().assert_existing_objects_matched()
    return model, cs, int(step.numpy())


def _savedmodel_shape(variables: Path) -> tuple[tuple[int, int, int, int], int]:
    """(channels, lstm_units) of an exported CRNN, read from its variables' shapes.

    The checkpoint names each layer by its place in the model (`model/_operations/<n>/...`), so the
    six conv kernels come in layer order: conv1..conv6, of which conv1, conv2, conv3 and conv5 set
    the four channel counts (conv4 repeats conv3's, conv6 is conv5's + 64).
    """
    import tensorflow as tf

    shapes = tf.train.load_checkpoint(str(variables)).get_variable_to_shape_map()

    def place(key: str) -> int:
        return int(key.split("/")[2])

    kernels = sorted(
        (place(k), s) for k, s in shapes.items() if k.startswith("model/_operations/") and len(s) == 4
    )
    recurrent = [s for k, s in shapes.items() if k.startswith("model/") and "recurrent_kernel" in k]
    if len(kernels) != 6 or not recurrent:
        raise ValueError(f"{variables} does not hold the CRNN of crnn.network (6 conv layers, BiLSTMs)")
    outs = [s[-1] for _, s in kernels]
    return (outs[0], outs[1], outs[2], outs[4]), recurrent[0][0]


def _widen(target, source) -> None:
    """Copy ``source``'s weights into the leading channels of the same-named, wider ``target``.

    The channels only ``target`` has keep their fresh initial weights, except where they feed the
    next layer: the input rows of every kernel (axis -2 of a conv, LSTM or dense kernel) that come
    from new channels are zeroed. The wider model then computes exactly what the source did, and
    training grows the new channels from there (Net2Net's "function preserving" start, with zero
    rows in place of copied units).
    """
    for layer in target.layers:
        src_weights = source.get_layer(layer.name).weights
        if len(src_weights) != len(layer.weights):
            raise ValueError(f"layer {layer.name}: {len(src_weights)} weights in the source")
        for dst, src in zip(layer.weights, src_weights, strict=True):
            old = src.numpy()
            new = dst.numpy()
            if old.ndim != new.ndim or any(o > n for o, n in zip(old.shape, new.shape, strict=True)):
                raise ValueError(f"{dst.path}: {old.shape} does not fit in {new.shape}")
            if new.ndim >= 2 and new.shape[-2] > old.shape[-2]:
                new[..., old.shape[-2] :, :] = 0.0
            new[tuple(slice(0, n) for n in old.shape)] = old
            dst.assign(new)


def _init_from_savedmodel(model, saved_model_dir: Path, conf: dict) -> None:
    """Warm start from an exported model (crnn-export) of this charset and LSTM size.

    Its conv channels may be fewer than this run's (``--channels``): they fill the leading ones
    (`_widen`), so a larger recogniser starts from what a smaller one learned.
    """
    import tensorflow as tf

    from crnn.charset import load
    from crnn.network import build_crnn

    variables = saved_model_dir / "variables" / "variables"
    if not variables.with_suffix(".index").exists():
        raise FileNotFoundError(f"{saved_model_dir} is not a SavedModel written by crnn-export")
    channels, lstm_units = _savedmodel_shape(variables)
    source = model
    if channels != tuple(conf["channels"]) and lstm_units == conf["lstm_units"]:
        cs = load(conf["charset"])
        source = build_crnn(cs.num_classes, channels, lstm_units, conf.get("width_stride", 4))
    # the exported module holds the Keras model as `model`: the same object path as here
    try:
        tf.train.Checkpoint(model=source).read(
            str(variables)
        ).expect_partial().assert_existing_objects_matched()
        if source is not model:
            _widen(model, source)
    except (AssertionError, ValueError) as exc:
        raise ValueError(
            f"{saved_model_dir} does not fit this run's model (another charset, fewer channels, or "
            f"another --lstm-units?): {exc}"
        ) from exc


def lr_at(cfg: TrainConfig, step: int, frac_time: float) -> float:
    """Linear warmup, then constant, then decay over the last 30% of the time budget (to lr/20)."""
    warm = min(1.0, (step + 1) / max(cfg.warmup_steps, 1))
    if frac_time < 0.7:
        decay = 1.0
    else:
        t = min(1.0, (frac_time - 0.7) / 0.3)
        decay = 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t))
    return cfg.lr * warm * decay


def train(cfg: TrainConfig, sample_source: Callable[[], list] | None = None) -> dict:
    """Run (or resume) training. ``sample_source()`` returns new samples each call (default: renderers)."""
    tf = _setup_tf(cfg.threads)
    from tqdm import tqdm

    from crnn import data as data_mod
    from crnn.decode import collapse
    from crnn.network import sequence_lengths, stride_of

    run_dir = Path(cfg.run_dir)
    conf = _model_config(run_dir, cfg)
    tf.keras.utils.set_random_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model, cs = _build(conf)
    stride = stride_of(model)

    step = tf.Variable(0, dtype=tf.int64, name="step")
    lr_var = tf.Variable(cfg.lr, dtype=tf.float32, trainable=False)
    opt = tf.keras.optimizers.Adam(learning_rate=lambda: lr_var, clipnorm=5.0)
    ckpt = tf.train.Checkpoint(model=model, optimizer=opt, step=step)
    manager = tf.train.CheckpointManager(ckpt, str(run_dir / "ckpt"), max_to_keep=3)
    if manager.latest_checkpoint:
        ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        print(f"resumed from {manager.latest_checkpoint} at step {int(step.numpy())}", flush=True)
        restored_from = manager.latest_checkpoint
    else:
        restored_from = None
        if cfg.init_from:
            _init_from_savedmodel(model, Path(cfg.init_from), conf)
            print(f"initialised the weights from {cfg.init_from}", flush=True)
    start_step = int(step.numpy())

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 32, None, 1], tf.uint8),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None], tf.int32),
        ],
        reduce_retracing=True,
    )
    def train_step(images, widths, labels, label_lengths):
        with tf.GradientTape() as tape:
            logits = model([images, widths], training=True)
            logit_len = tf.minimum(sequence_lengths(widths, stride), tf.shape(logits)[1])
            # `unique` selects the compact forward-backward over each line's own labels: on CPU it is
            # ~1.6x faster per step than the default dense path with 3874 classes (measured)
            per_line = tf.nn.ctc_loss(
                labels=labels,
                logits=logits,
                label_length=label_lengths,
                logit_length=logit_len,
                logits_time_major=False,
                blank_index=0,
                unique=tf.nn.ctc_unique_labels(labels),
            )
            # an infeasible alignment gives inf; drop it rather than poison the weights
            per_line = tf.where(tf.math.is_finite(per_line), per_line, tf.zeros_like(per_line))
            loss = tf.reduce_mean(per_line)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        step.assign_add(1)
        return loss, tf.argmax(logits, axis=-1, output_type=tf.int32), logit_len

    real_lines = None
    if cfg.real:
        if not 0.0 < cfg.real_share < 1.0:
            raise ValueError(f"--real-share must be between 0 and 1 (exclusive), got {cfg.real_share}")
        real_lines = data_mod.RealLines(list(cfg.real), cs, cfg.max_width, stride=stride)
        print(
            f"real lines: {len(real_lines)} from {real_lines.page_count} pages "
            f"({real_lines.skipped} left out), {cfg.real_share:.0%} of training lines",
            flush=True,
        )
    pool = data_mod.ReplayPool(cfg.pool_size, rng)
    if cfg.data_dir and sample_source is None:
        for p in data_mod.iter_shards(Path(cfg.data_dir)):
            if len(pool) >= cfg.pool_size:
                break
            pool.add(data_mod.load_shard(p))
        print(f"loaded {len(pool)} samples from {cfg.data_dir}", flush=True)
    producer = None
    if sample_source is None:
        producer = data_mod.SampleProducer(
            cfg.seed * 7919 + start_step,
            cfg.workers,
            max_width=cfg.max_width,
            chunk=cfg.batch_size,
            stride=stride,
            real_texts=real_lines.latin_texts() if real_lines is not None else (),
        )
        sample_source = lambda: producer.poll(max_chunks=GROUPS)  # noqa: E731
    fresh: list = []

    def refill() -> None:
        new = sample_source()
        if real_lines is not None:
            new = new + real_lines.draw(rng, data_mod.real_count(len(new), cfg.real_share, rng))
        pool.add(new)
        fresh.extend(new)

    t_start = time.time()
    budget = cfg.minutes * 60.0
    while len(pool) < cfg.min_pool:
        refill()
        if len(pool) < cfg.min_pool:
            time.sleep(0.5)
        if time.time() - t_start > budget:
            break
    print(f"pool ready: {len(pool)} samples after {time.time() - t_start:.0f} s", flush=True)

    stop = {"signal": None}

    def _on_term(signum, _frame):  # SIGTERM/SIGINT: finish the step, checkpoint, exit cleanly
        stop["signal"] = signum

    old_handlers = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            old_handlers[sig] = signal.signal(sig, _on_term)

    last_ckpt = time.time()
    ema_loss = ema_acc = None
    history: list[float] = []
    queue: list = []
    bar = tqdm(total=cfg.steps, initial=0, unit="step", mininterval=5.0, dynamic_ncols=True)
    done = 0
    try:
        while True:
            elapsed = time.time() - t_start
            if elapsed >= budget or (cfg.steps is not None and done >= cfg.steps) or stop["signal"]:
                break
            if not queue:
                refill()
                queue = pool.batches(cfg.batch_size, GROUPS, fresh, cfg.batch_columns)
            batch = queue.pop()
            images, widths, labels, lengths = data_mod.collate(batch)
            lr_var.assign(lr_at(cfg, int(step.numpy()), elapsed / budget))
            loss, best, logit_len = train_step(images, widths, labels, lengths)
            loss = float(loss)
            if restored_from and done == 0:  # optimizer slots are created lazily: check they came back
                print(f"optimizer iterations after first resumed step: {int(opt.iterations.numpy())}")
            history.append(loss)
            done += 1
            if done % cfg.log_every == 0 or done == 1:
                preds = [collapse(r, n) for r, n in zip(best.numpy(), logit_len.numpy(), strict=True)]
                acc = float(np.mean([p == list(s.ids) for p, s in zip(preds, batch, strict=True)]))
                ema_acc = acc if ema_acc is None else 0.9 * ema_acc + 0.1 * acc
            ema_loss = loss if ema_loss is None else 0.98 * ema_loss + 0.02 * loss
            bar.update(1)
            bar.set_postfix(
                step=int(step.numpy()),
                loss=f"{ema_loss:.3f}",
                acc=f"{(ema_acc or 0):.3f}",
                lr=f"{float(lr_var.numpy()):.1e}",
                pool=len(pool),
                gen=pool.added,
                w=images.shape[2],
                refresh=False,
            )
            if time.time() - last_ckpt >= cfg.ckpt_minutes * 60:
                manager.save(checkpoint_number=int(step.numpy()))
                last_ckpt = time.time()
    finally:
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        bar.close()
        path = manager.save(checkpoint_number=int(step.numpy()))
        if producer is not None:
            producer.close()
        secs = time.time() - t_start
        # the trainer's own peak (Linux: KiB); the renderer processes are apart (bench/synth_speed.py)
        peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(
            f"saved {path}: step {int(step.numpy())} ({done} now, {done / max(secs, 1e-9):.2f} step/s), "
            f"generated {pool.added} samples, trainer's peak memory {peak_gib:.1f} GiB",
            flush=True,
        )
    return {
        "start_step": start_step,
        "end_step": int(step.numpy()),
        "losses": history,
        "checkpoint": path,
        "peak_rss_gib": peak_gib,
    }


def _channels(text: str) -> tuple[int, int, int, int]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected four positive channel counts such as 48,96,192,256, got {text!r}"
        )
    return values


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument(
        "--minutes", type=float, default=60.0, help="wall-clock bound; stops cleanly and checkpoints"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument(
        "--batch-columns",
        type=int,
        default=None,
        help="at most this many lines x the widest line's pixels in a batch (e.g. 8192: 32 lines up to "
        "256 px, 16 of 512 px); bounds the memory of the widest batches",
    )
    ap.add_argument("--steps", type=int, default=None, help="stop after this many steps (this run)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--max-width", type=int, default=512)
    ap.add_argument("--workers", type=int, default=1, help="renderer processes")
    ap.add_argument("--pool-size", type=int, default=30000)
    ap.add_argument("--data-dir", default=None, help="pre-generated shards (crnn.data) to seed the pool")
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lstm-units", type=int, default=128, help="first run only (stored in config.json)")
    ap.add_argument(
        "--channels",
        type=_channels,
        default=TrainConfig.channels,
        metavar="C1,C2,C3,C4",
        help="first run only: the conv stack's channels (default 32,64,128,192); with --init-from "
        "at least the source's, whose weights fill the leading ones",
    )
    ap.add_argument(
        "--width-stride",
        type=int,
        choices=(4, 2),
        default=4,
        help="first run only: crop pixels per CTC time step (2: narrow glyphs such as `ll` get the "
        "steps CTC needs, ~1.4x the recogniser's time); a stride-4 model can --init-from",
    )
    ap.add_argument(
        "--init-from",
        default=None,
        help="first run only: start from the weights of an exported model (models/crnn/<version>)",
    )
    ap.add_argument(
        "--real",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of labelled pages (truth.json format, see ocr_synth.labelled) to mix into "
        "training; repeatable",
    )
    ap.add_argument(
        "--real-share", type=float, default=0.5, help="share of training lines drawn from --real folders"
    )
    args = ap.parse_args(argv)
    cfg = TrainConfig(
        run_dir=args.run_dir,
        minutes=args.minutes,
        seed=args.seed,
        batch_size=args.batch_size,
        batch_columns=args.batch_columns,
        steps=args.steps,
        lr=args.lr,
        max_width=args.max_width,
        workers=args.workers,
        pool_size=args.pool_size,
        data_dir=args.data_dir or None,
        ckpt_minutes=args.ckpt_minutes,
        threads=args.threads,
        lstm_units=args.lstm_units,
        channels=args.channels,
        width_stride=args.width_stride,
        init_from=args.init_from,
        real=tuple(args.real),
        real_share=args.real_share,
    )
    Path(cfg.run_dir).mkdir(parents=True, exist_ok=True)
    print("config:", json.dumps(asdict(cfg)), flush=True)
    train(cfg)


if __name__ == "__main__":
    main()
