"""Median time of one page through the whole pipeline (single mode, in-process SavedModels).

The issue's reference page: 1000x800 with 10 lines. Pages are rendered by `ocr_synth` with the
held-out font; each is read `--repeat` times after a warm-up and the median is printed per stage,
for each line detector asked (OCR_DETECTOR; default both).

    python bench/pipeline_speed.py [--models models] [--pages 5] [--repeat 5] [--lines 10] [--detector dbnet]
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

import numpy as np
from ocr_service.pipeline import Pipeline, PipelineConfig
from ocr_service.runners import SavedModelRunner
from ocr_service.settings import DETECTORS, Settings
from ocr_synth import documents


def page_with_lines(seed: int, lines: int) -> documents.DocSample:
    """The first 1000x800 'form' page of this seed with about `lines` lines (form rows vary)."""
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(40):
        doc = documents.render_document(rng, split="eval", degrade=False, size=(1000, 800), layout="form")
        if best is None or abs(len(doc.lines) - lines) < abs(len(best.lines) - lines):
            best = doc
        if len(doc.lines) == lines:
            break
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--detector", nargs="+", choices=DETECTORS, default=list(DETECTORS))
    args = parser.parse_args()
    docs = [page_with_lines(1000 + seed, args.lines) for seed in range(args.pages)]
    for detector in args.detector:
        measure(args, docs, detector)


def measure(args: argparse.Namespace, docs: list[documents.DocSample], detector: str) -> None:
    settings = Settings(detector=detector)  # type: ignore[arg-type]
    runner = SavedModelRunner(args.models, models=settings.models)
    pipeline = Pipeline(runner, PipelineConfig(detector=detector))
    pipeline.warmup()
    totals: list[float] = []
    stages: dict[str, list[float]] = {}
    for number, doc in enumerate(docs):
        pipeline.read(doc.image)  # first call at this size traces shapes; not timed
        for _ in range(args.repeat):
            result = pipeline.read(doc.image)
            totals.append(result.timings_ms["total"])
            for stage, ms in result.timings_ms.items():
                stages.setdefault(stage, []).append(ms)
        print(f"{detector} page {number}: {len(doc.lines)} true lines, {len(result.lines)} read", flush=True)

    print(f"\n{detector}: {args.pages} pages x {args.repeat} reads, 1000x800, ~{args.lines} lines,", end=" ")
    print(f"{os.cpu_count()} CPUs")
    for stage, values in stages.items():
        print(f"  {stage:<22}{statistics.median(values):8.1f} ms median")
    print(f"  {'p90 total':<22}{np.percentile(totals, 90):8.1f} ms\n")


if __name__ == "__main__":
    main()
