"""Train and export the page-orientation classifier (models/orient/<version>, issue 14 item 2).

    ocr-orient train --run-dir runs/orient --minutes 20      # resumable: run it again to continue
    ocr-orient eval --run-dir runs/orient --count 100        # page accuracy on rotated eval pages
    ocr-orient export --run-dir runs/orient --out models/orient/1

Examples are the patches `ocr_service.orientation.page_patches` picks from `ocr_synth` training
pages (the service shows the model the same), scaled so the page's longer side is 576..1024 px (the
service uses 768), each turned by a random quarter turn (the label). A background process renders
pages into shards under the run directory while the main process trains on the shards written so
far; checkpoints every `--save-every` steps, so a stopped run continues where it was.

The network is small on purpose (about 100 k weights, under 1 MB as a SavedModel): four conv
stages on 64x64 grey patches, global average pooling, four classes.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np
from ocr_service.orientation import LONG_SIDE, PATCH, page_patches, vote

PATCHES_PER_PAGE = 12
PAGES_PER_SHARD = 25


def _render_shards(out: Path, seed: int, first_shard: int, split: str, stop_after: int | None) -> None:
    from ocr_synth.documents import render_document

    shard = first_shard
    while stop_after is None or shard < first_shard + stop_after:
        path = out / f"shard-{shard:05d}.npz"
        if not path.exists():
            patches = []
            for page in range(PAGES_PER_SHARD):
                rng = np.random.default_rng([seed, shard, page])
                doc = render_document(rng, split=split)
                long_side = int(rng.integers(576, 1025))
                found = page_patches(doc.image, long_side=long_side)
                if len(found) == 0:
                    continue
                keep = rng.permutation(len(found))[:PATCHES_PER_PAGE]
                patches.append((found[keep, ..., 0] * 255).round().astype(np.uint8))
            tmp = out / f"shard-{shard:05d}.tmp.npz"
            np.savez_compressed(tmp, patches=np.concatenate(patches))
            tmp.rename(path)
        shard += 1


def build_model():
    import tensorflow as tf

    layers = tf.keras.layers
    inputs = tf.keras.Input((PATCH, PATCH, 1), name="patches")
    x = inputs
    for filters in (16, 32, 48, 64):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(4, activation="softmax", name="probabilities")(x)
    return tf.keras.Model(inputs, outputs, name="orient")


def _load_shards(directory: Path) -> np.ndarray:
    arrays = [np.load(p)["patches"] for p in sorted(directory.glob("shard-?????.npz"))]
    return np.concatenate(arrays) if arrays else np.zeros((0, PATCH, PATCH), np.uint8)


def _batch(rng: np.random.Generator, pool: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    index = rng.integers(0, len(pool), n)
    labels = rng.integers(0, 4, n)
    images = np.stack([np.rot90(pool[i], k) for i, k in zip(index, labels, strict=True)])
    images = images.astype(np.float32) / 255.0
    # light augmentation: contrast and a little noise (scans, photos)
    images = images * rng.uniform(0.6, 1.0, (n, 1, 1)) + rng.normal(0, 0.03, images.shape)
    return np.clip(images, 0, 1)[..., None].astype(np.float32), labels.astype(np.int32)


def train(args: argparse.Namespace) -> None:
    import tensorflow as tf

    run = Path(args.run_dir)
    shards = run / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    producer = mp.get_context("spawn").Process(
        target=_render_shards, args=(shards, args.seed, 0, "train", args.shards), daemon=True
    )
    producer.start()
    model = build_model()
    optimizer = tf.keras.optimizers.Adam(args.lr)
    step = tf.Variable(0, dtype=tf.int64)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
    manager = tf.train.CheckpointManager(checkpoint, run / "checkpoints", max_to_keep=2)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint)
        print(f"resumed from {manager.latest_checkpoint} at step {int(step)}", flush=True)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy()

    @tf.function
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            probabilities = model(images, training=True)
            loss = loss_fn(labels, probabilities)
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        predicted = tf.argmax(probabilities, 1, output_type=tf.int32)
        return loss, tf.reduce_mean(tf.cast(predicted == labels, tf.float32))

    while not list(shards.glob("shard-?????.npz")):
        time.sleep(2)
    pool, loaded_at = _load_shards(shards), time.monotonic()
    rng = np.random.default_rng(args.seed + int(step))
    end = time.monotonic() + args.minutes * 60
    losses, accuracies, started = [], [], time.monotonic()
    while time.monotonic() < end and int(step) < args.steps:
        if time.monotonic() - loaded_at > 60:
            pool, loaded_at = _load_shards(shards), time.monotonic()
        images, labels = _batch(rng, pool, args.batch)
        loss, correct = train_step(images, labels)
        losses.append(float(loss))
        accuracies.append(float(correct))
        step.assign_add(1)
        if int(step) % 50 == 0:
            rate = len(losses) / (time.monotonic() - started)
            print(
                f"step {int(step)} loss {np.mean(losses[-50:]):.3f} "
                f"patch acc {np.mean(accuracies[-50:]):.3f} ({len(pool)} patches, {rate:.1f} step/s)",
                flush=True,
            )
        if int(step) % args.save_every == 0:
            manager.save(checkpoint_number=int(step))
    manager.save(checkpoint_number=int(step))
    producer.terminate()
    print(f"stopped at step {int(step)}", flush=True)


def _restore(run_dir: str):
    import tensorflow as tf

    model = build_model()
    checkpoint = tf.train.Checkpoint(model=model)
    latest = tf.train.latest_checkpoint(str(Path(run_dir) / "checkpoints"))
    if latest is None:
        sys.exit(f"no checkpoint under {run_dir}/checkpoints: run `ocr-orient train --run-dir {run_dir}`")
    checkpoint.restore(latest).expect_partial()
    return model


def evaluate(args: argparse.Namespace) -> None:
    from ocr_synth.documents import generate

    model = _restore(args.run_dir)
    confusion = np.zeros((4, 4), int)
    for doc in generate(args.seed, args.count, args.split):
        for k in range(4):
            patches = page_patches(np.rot90(doc.image, k), long_side=LONG_SIDE)
            probabilities = model(patches, training=False).numpy() if len(patches) else np.zeros((0, 4))
            confusion[k, vote(probabilities, args.min_margin)[0]] += 1
    accuracy = np.trace(confusion) / confusion.sum()
    print(f"page accuracy {accuracy:.4f} on {args.count} {args.split} pages x 4 rotations")
    print("confusion (rows: true class k, columns: predicted):")
    print(confusion)


def export(args: argparse.Namespace) -> None:
    import tensorflow as tf

    model = _restore(args.run_dir)

    class Orient(tf.Module):
        def __init__(self, keras_model):
            super().__init__()
            self.model = keras_model

        @tf.function(input_signature=[tf.TensorSpec([None, PATCH, PATCH, 1], tf.float32, name="patches")])
        def serve(self, patches):
            return {"probabilities": self.model(patches, training=False)}

    module = Orient(model)
    out = Path(args.out)
    tf.saved_model.save(module, str(out), signatures={"serving_default": module.serve})
    print(f"exported {out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ocr-orient", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train", help="train (or continue training) in --run-dir")
    t.add_argument("--run-dir", required=True)
    t.add_argument("--minutes", type=float, default=20.0)
    t.add_argument("--steps", type=int, default=100_000)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--shards", type=int, default=None, help="stop rendering after this many shards")
    t.add_argument("--save-every", type=int, default=250)
    e = commands.add_parser("eval", help="page accuracy over the four rotations of ocr_synth pages")
    e.add_argument("--run-dir", required=True)
    e.add_argument("--seed", type=int, default=12345)
    e.add_argument("--count", type=int, default=50)
    e.add_argument("--split", default="eval")
    e.add_argument("--min-margin", type=float, default=2.0)
    x = commands.add_parser("export", help="write the SavedModel (<out>: models/orient/<version>)")
    x.add_argument("--run-dir", required=True)
    x.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    {"train": train, "eval": evaluate, "export": export}[args.command](args)


if __name__ == "__main__":
    main()
