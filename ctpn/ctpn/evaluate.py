"""`ctpn-eval`: detection P/R/F1 at IoU 0.5 of an exported model on generated documents.

The documents are made by `ocr_synth.documents.generate` (document i depends only on (seed, i));
the first half clean, the second half degraded, so both figures and the overall one are reported.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ctpn.metrics import detection_prf, prf
from ctpn.postprocess import detect_lines
from ctpn.preprocess import prepare


def evaluate(model_dir: Path, seed: int, count: int, split: str, iou: float = 0.5) -> dict[str, dict]:
    import tensorflow as tf
    from ocr_synth import documents

    serve = tf.saved_model.load(str(model_dir)).signatures["serving_default"]
    totals = {"clean": np.zeros(3, int), "degraded": np.zeros(3, int)}
    ms = []
    half = count // 2
    for i in tqdm(range(count), desc="ctpn-eval", unit="doc"):
        kind = "clean" if i < half else "degraded"
        rng = np.random.default_rng([seed, i])
        doc = documents.render_document(rng, split=split, degrade=kind == "degraded")
        t0 = time.perf_counter()
        image, scale = prepare(doc.image)
        out = {k: v.numpy() for k, v in serve(image=tf.constant(image[None])).items()}
        quads = detect_lines(out, doc.image, scale)
        ms.append((time.perf_counter() - t0) * 1000)
        m = detection_prf(quads, [line.quad for line in doc.lines], iou)
        totals[kind] += [m["tp"], m["fp"], m["fn"]]
    report = {k: prf(*map(int, v)) for k, v in totals.items()}
    report["overall"] = prf(*map(int, totals["clean"] + totals["degraded"]))
    report["median_ms"] = {"detect": float(np.median(ms))}
    return report


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", type=Path, default=Path("models/ctpn/1"))
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--split", default="eval")
    p.add_argument("--iou", type=float, default=0.5)
    args = p.parse_args(argv)
    report = evaluate(args.model, args.seed, args.count, args.split, args.iou)
    for k in ("clean", "degraded", "overall"):
        r = report[k]
        counts = f"tp {r['tp']} fp {r['fp']} fn {r['fn']}"
        print(f"{k:9s} P {r['precision']:.4f} R {r['recall']:.4f} F1 {r['f1']:.4f} ({counts})")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
