"""Compare ocrstack with RapidOCR and Tesseract 5 on the same pages, real or generated.

Prints detection P/R/F1 at IoU >= 0.5 (and at any further --iou), CER raw and normalised, the
page-level scores of ../shared/real/README.md (page CER, character F1), line accuracy, and pages/s for
each engine. Pages: a folder of labelled pages (--truth, e.g. the real receipts), or the clean and
degraded halves of a generated evaluation set whose seed and font were never used in training.
Every engine is scored by `ocr_tools.evaluate`.

    python bench/compare_ocr.py --truth ../shared/real/sroie/dev --iou 0.5 0.3
    python bench/compare_ocr.py --count 20 [--engines ocrstack ocrstack-ctpn rapidocr tesseract]
    python bench/compare_ocr.py --split heldout --count 20 --candidate runs/export   # a new model too
    python bench/compare_ocr.py --truth DIR --photographed   # each page as a phone photo of it

On generated pages it also prints each typeface's line CER (the held-out targets are per family).
`ocrstack` reads as the service does by default; `ocrstack-ctpn` and `ocrstack-dbnet` with each line
detector (OCR_DETECTOR), and the one the service does not use by default runs unless --engines says
otherwise. `--candidate DIR` adds ocrstack with the models of DIR (TF Serving layout) as one more engine, so a
model in training is measured in the same run, on the same machine load, as the shipped one.

RapidOCR comes from the `rapidocr-onnxruntime` wheel (models inside the wheel); Tesseract from
Debian's `tesseract-ocr` + `tesseract-ocr-chi-sim`, run as `-l chi_sim+eng` with OMP_THREAD_LIMIT=1.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from ocr_service.settings import DETECTORS, Settings
from ocr_tools.evaluate import (
    Engine,
    FontScore,
    PredictedLine,
    Score,
    evaluate,
    format_fonts,
    format_table,
    load_docs,
    photographed_engine,
    pipeline_engine,
)


def rapidocr_engine() -> Engine:
    from rapidocr_onnxruntime import RapidOCR

    reader = RapidOCR()

    def run(image: np.ndarray) -> list[PredictedLine]:
        result, _ = reader(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        return [(text, np.asarray(box, dtype=np.float32)) for box, text, _ in result or []]

    return run


def tesseract_engine() -> Engine:
    if shutil.which("tesseract") is None:
        raise SystemExit("tesseract not found: apt-get install tesseract-ocr tesseract-ocr-chi-sim")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def run(image: np.ndarray) -> list[PredictedLine]:
        ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        assert ok
        tsv = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", "chi_sim+eng", "--psm", "3", "tsv"],
            input=png.tobytes(),
            capture_output=True,
            check=True,
            env=env,
        ).stdout.decode("utf-8")
        words: dict[tuple[int, int, int], list[tuple[str, int, int, int, int]]] = defaultdict(list)
        for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
            if row["level"] == "5" and row["text"].strip():
                key = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
                x, y, w, h = (int(row[k]) for k in ("left", "top", "width", "height"))
                words[key].append((row["text"], x, y, w, h))
        lines = []
        for items in words.values():
            x0 = min(x for _, x, _, _, _ in items)
            y0 = min(y for _, _, y, _, _ in items)
            x1 = max(x + w for _, x, _, w, _ in items)
            y1 = max(y + h for _, _, y, _, h in items)
            quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
            lines.append((" ".join(text for text, *_ in items), quad))
        return lines

    return run


ENGINES = {
    "ocrstack": lambda args: pipeline_engine(args.models),  # as the service reads by default
    # each line detector, as the setting OCR_DETECTOR picks it
    "ocrstack-ctpn": lambda args: pipeline_engine(args.models, detector="ctpn"),
    "ocrstack-dbnet": lambda args: pipeline_engine(args.models, detector="dbnet"),
    "candidate": lambda args: pipeline_engine(args.candidate, detector=args.candidate_detector),
    "rapidocr": lambda args: rapidocr_engine(),
    "tesseract": lambda args: tesseract_engine(),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--split", default="eval", choices=("eval", "heldout"), help="generated pages' fonts")
    parser.add_argument("--count", type=int, default=None, help="pages (default 20; with --truth all)")
    parser.add_argument("--truth", type=Path, metavar="DIR", help="a folder of labelled pages (truth.json)")
    parser.add_argument("--iou", type=float, nargs="+", default=[0.5], metavar="T")
    parser.add_argument(
        "--photographed", action="store_true",
        help="show every engine each page as a phone photo of it on a dark table (turned up to 8 "
        "degrees, 0.6-0.9x; ocr_tools.evaluate.photographed_engine), the same photo for each",
    )  # fmt: skip
    parser.add_argument("--candidate", type=Path, metavar="DIR", help="also ocrstack with the models of DIR")
    parser.add_argument(
        "--candidate-detector", choices=DETECTORS, default=None,
        help="the line detector the candidate reads with (default: the service's; DIR must hold it)",
    )  # fmt: skip
    # by default ocrstack as served, with the line detector it does not use beside it
    other = next(f"ocrstack-{d}" for d in DETECTORS if d != Settings.detector)
    parser.add_argument(
        "--engines", nargs="+", default=["ocrstack", other, "rapidocr", "tesseract"], choices=list(ENGINES)
    )
    args = parser.parse_args()
    if args.candidate is not None and "candidate" not in args.engines:
        args.engines.insert(
            args.engines.index("ocrstack") + 1 if "ocrstack" in args.engines else 0, "candidate"
        )
    if "candidate" in args.engines and args.candidate is None:
        parser.error("the engine 'candidate' needs --candidate DIR")

    docs = load_docs(args.truth, args.seed, args.count if args.truth else args.count or 20, args.split)
    rows: dict[str, dict[str, Score]] = {}
    fonts: dict[str, dict[str, FontScore]] = {}
    speed: dict[str, float] = {}
    for name in args.engines:
        engine = ENGINES[name](args)
        if args.photographed:
            engine = photographed_engine(engine)
        engine(docs[0][1].image)  # warm-up, not timed
        fonts[name] = {}
        scores, elapsed = evaluate(engine, docs, progress=False, iou_thresholds=args.iou, by_font=fonts[name])
        rows[name] = scores
        speed[name] = len(docs) / elapsed
        print(f"{name}: {len(docs)} pages in {elapsed:.1f} s", flush=True)

    print()
    print(format_table(rows))
    print()
    if any(fonts.values()):
        print(format_fonts(fonts, args.iou[-1]))
        print()
    sizes = sorted({doc.image.shape[:2] for _, doc in docs})
    print(f"pages/s on this machine ({os.cpu_count()} CPUs; page sizes {sizes[0]}..{sizes[-1]} HxW):")
    for name, value in speed.items():
        print(f"  {name:<16}{value:8.2f} pages/s  ({1000.0 / value:7.0f} ms/page)")


if __name__ == "__main__":
    main()
