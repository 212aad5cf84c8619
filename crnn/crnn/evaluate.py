"""crnn-eval: line accuracy and CER (raw and normalised) on seeded synthetic lines.

The eval split renders with the held-out CJK font (see ocr_synth.fonts), so the numbers measure an
unseen typeface. Accepts an exported SavedModel dir or a training run dir (latest checkpoint).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from crnn import metrics
from crnn.preprocess import batch_crops, width_groups


def _predictor(path: Path) -> Callable[[np.ndarray, np.ndarray], list[str]]:
    import tensorflow as tf

    if (path / "saved_model.pb").exists():
        sig = tf.saved_model.load(str(path)).signatures["serving_default"]

        def run(images, widths):
            out = sig(images=tf.constant(images), widths=tf.constant(widths))
            return [t.decode("utf-8") for t in out["text"].numpy()]

        return run

    from crnn.export import CrnnServing
    from crnn.train import load_model_from_run

    model, cs, step = load_model_from_run(path)
    print(f"checkpoint step {step}")
    module = CrnnServing(model, cs.chars)

    def run_ckpt(images, widths):
        out = module.serving(tf.constant(images), tf.constant(widths))
        return [t.decode("utf-8") for t in out["text"].numpy()]

    return run_ckpt


def make_eval_set(count: int, seed: int, split: str) -> tuple[list[np.ndarray], list[str]]:
    """Seeded crops and reference texts (same cropping and box jitter as training)."""
    from tqdm import tqdm

    from crnn.charset import load
    from crnn.data import make_sample

    rng = np.random.default_rng(seed)
    cs = load()
    crops, refs = [], []
    with tqdm(total=count, unit="line", desc="render") as bar:
        while len(crops) < count:
            s = make_sample(rng, cs, split, max_width=1600)
            if s is None:
                continue
            crops.append(s.crop)
            refs.append(cs.decode(s.ids.tolist()))
            bar.update(1)
    return crops, refs


def evaluate(path: Path, count: int, seed: int, split: str, batch_size: int = 32) -> dict:
    predict = _predictor(Path(path))
    crops, refs = make_eval_set(count, seed, split)
    preds: list[str] = [""] * len(crops)
    for idx in width_groups([c.shape[1] for c in crops], batch_size):  # similar widths per call
        images, widths = batch_crops([crops[j] for j in idx])
        for j, text in zip(idx, predict(images, widths), strict=True):
            preds[j] = text
    result = {
        "lines": len(refs),
        "line_accuracy": metrics.line_accuracy(preds, refs),
        "cer": metrics.corpus_cer(preds, refs),
        "line_accuracy_normalized": metrics.line_accuracy(preds, refs, normalized=True),
        "cer_normalized": metrics.corpus_cer(preds, refs, normalized=True),
    }
    worst = sorted(zip(preds, refs, strict=True), key=lambda pr: -metrics.edits(*pr))[:10]
    result["worst"] = [{"pred": p, "ref": r} for p, r in worst if p != r]
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checkpoint-or-savedmodel", type=Path, required=True)
    ap.add_argument("--split", default="eval")
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--seed", type=int, default=12345)
    args = ap.parse_args(argv)
    res = evaluate(args.checkpoint_or_savedmodel, args.count, args.seed, args.split)
    print(json.dumps(res, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
