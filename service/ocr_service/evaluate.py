"""End-to-end evaluation: detection P/R/F1 and CER of the whole pipeline on generated documents.

The same scoring serves every engine (ours, RapidOCR, Tesseract in bench/compare_ocr.py): an engine
is anything that turns an RGB page into (text, quad) lines.

Scoring: predicted and ground-truth lines are matched one-to-one at IoU >= 0.5 on their 4-point
boxes. A matched pair costs the edit distance between the texts; a missed ground-truth line costs
all its characters; a spurious prediction costs all of its characters (insertions). CER is the
total cost over the total ground-truth characters, raw and after `crnn.metrics.normalize`.

Line matching punishes an engine that reads two table cells as one line twice (a missed line and a
spurious one). The page CER does not: it compares the normalised text of the whole page, lines
joined in reading order (`ctpn.postprocess.reading_order`, the same for prediction and truth), so
engines that segment lines differently are compared on what they read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from crnn.metrics import edits, normalize
from ctpn.metrics import match_quads
from ctpn.postprocess import reading_order

PredictedLine = tuple[str, np.ndarray]  # (text, quad (4, 2))
Engine = Callable[[np.ndarray], list[PredictedLine]]


@dataclass
class Score:
    pages: int = 0
    gt_lines: int = 0
    pred_lines: int = 0
    matched: int = 0
    ref_chars_raw: int = 0
    ref_chars_norm: int = 0
    edits_raw: int = 0
    edits_norm: int = 0
    exact_raw: int = 0
    exact_norm: int = 0
    page_edits_norm: int = 0

    def __iadd__(self, other: Score) -> Score:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    @property
    def precision(self) -> float:
        return self.matched / self.pred_lines if self.pred_lines else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.gt_lines if self.gt_lines else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def cer_raw(self) -> float:
        return self.edits_raw / max(self.ref_chars_raw, 1)

    @property
    def cer_norm(self) -> float:
        return self.edits_norm / max(self.ref_chars_norm, 1)

    @property
    def page_cer_norm(self) -> float:
        return self.page_edits_norm / max(self.ref_chars_norm, 1)

    @property
    def line_acc_raw(self) -> float:
        return self.exact_raw / max(self.gt_lines, 1)

    @property
    def line_acc_norm(self) -> float:
        return self.exact_norm / max(self.gt_lines, 1)

    def summary(self) -> dict[str, float]:
        return {
            "pages": self.pages,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "cer_raw": round(self.cer_raw, 4),
            "cer_norm": round(self.cer_norm, 4),
            "page_cer_norm": round(self.page_cer_norm, 4),
            "line_acc_raw": round(self.line_acc_raw, 4),
            "line_acc_norm": round(self.line_acc_norm, 4),
        }


def score_page(
    predicted: Sequence[PredictedLine],
    truth: Sequence[tuple[str, np.ndarray]],
    iou_threshold: float = 0.5,
) -> Score:
    pairs = match_quads([q for _, q in predicted], [q for _, q in truth], iou_threshold)
    score = Score(pages=1, gt_lines=len(truth), pred_lines=len(predicted), matched=len(pairs))
    matched_pred = {p for p, _, _ in pairs}
    matched_gt = {g: p for p, g, _ in pairs}
    for g, (ref, _) in enumerate(truth):
        ref_n = normalize(ref)
        score.ref_chars_raw += len(ref)
        score.ref_chars_norm += len(ref_n)
        if g in matched_gt:
            hyp = predicted[matched_gt[g]][0]
            hyp_n = normalize(hyp)
            score.edits_raw += edits(hyp, ref)
            score.edits_norm += edits(hyp_n, ref_n)
            score.exact_raw += hyp == ref
            score.exact_norm += hyp_n == ref_n
        else:
            score.edits_raw += len(ref)
            score.edits_norm += len(ref_n)
    for p, (hyp, _) in enumerate(predicted):
        if p not in matched_pred:
            score.edits_raw += len(hyp)
            score.edits_norm += len(normalize(hyp))
    score.page_edits_norm = edits(_page_text(predicted), _page_text(truth))
    return score


def read_truth(path: Path) -> list[tuple[str, np.ndarray]]:
    """Ground truth of a page as stored beside it (samples/*.json: [{"text", "quad"}, ...])."""
    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    return [(row["text"], np.asarray(row["quad"], dtype=np.float32)) for row in rows]


def api_lines(body: dict) -> list[PredictedLine]:
    """The lines of a `POST /v1/ocr` response body, in the form score_page takes."""
    return [(line["text"], np.asarray(line["box"], dtype=np.float32)) for line in body["lines"]]


def _page_text(lines: Sequence[tuple[str, np.ndarray]]) -> str:
    quads = [np.asarray(quad, dtype=np.float32) for _, quad in lines]
    return "".join(normalize(lines[i][0]) for i in reading_order(quads))


def evaluation_set(seed: int, count: int, split: str = "eval") -> Iterable[tuple[str, object]]:
    """`count` documents: the first half clean, the second half degraded, reproducible by seed."""
    from ocr_synth import documents

    clean = count // 2
    for doc in documents.generate(seed, clean, split, degrade=False):
        yield "clean", doc
    for doc in documents.generate(seed + 1, count - clean, split, degrade=True):
        yield "degraded", doc


def evaluate(
    engine: Engine, docs: Sequence[tuple[str, object]], progress: bool = True
) -> tuple[dict[str, Score], float]:
    """Score `engine` on `docs` from `evaluation_set`.

    Returns ({"clean": Score, "degraded": Score, "all": Score}, seconds spent inside the engine).
    """
    import time

    from tqdm import tqdm

    scores = {"clean": Score(), "degraded": Score(), "all": Score()}
    elapsed = 0.0
    for half, doc in tqdm(docs, disable=not progress, desc="evaluate", unit="page"):
        start = time.perf_counter()
        predicted = engine(doc.image)
        elapsed += time.perf_counter() - start
        page = score_page(predicted, [(line.text, line.quad) for line in doc.lines])
        scores[half] += page
        scores["all"] += page
    return scores, elapsed


def pipeline_engine(model_dir: Path) -> Engine:
    from .pipeline import Pipeline
    from .runners import SavedModelRunner

    pipeline = Pipeline(SavedModelRunner(model_dir))

    def run(image: np.ndarray) -> list[PredictedLine]:
        return [(line.text, np.asarray(line.box, dtype=np.float32)) for line in pipeline.read(image).lines]

    return run


def format_table(rows: dict[str, dict[str, Score]]) -> str:
    """One row per (engine, half) with the figures the issue asks for."""
    header = f"{'engine':<12}{'half':<10}{'pages':>6}{'P':>8}{'R':>8}{'F1':>8}" \
             f"{'CER':>8}{'CERn':>8}{'pCERn':>8}{'acc':>8}{'accn':>8}"
    out = [header, "-" * len(header)]
    for engine, halves in rows.items():
        for half, s in halves.items():
            out.append(
                f"{engine:<12}{half:<10}{s.pages:>6}{s.precision:>8.4f}{s.recall:>8.4f}{s.f1:>8.4f}"
                f"{s.cer_raw:>8.4f}{s.cer_norm:>8.4f}{s.page_cer_norm:>8.4f}"
                f"{s.line_acc_raw:>8.4f}{s.line_acc_norm:>8.4f}"
            )
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ocr-evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("models"), help="TF Serving layout model dir")
    parser.add_argument("--seed", type=int, default=12345, help="evaluation seed (never used in training)")
    parser.add_argument("--count", type=int, default=40, help="documents, half clean, half degraded")
    parser.add_argument("--split", default="eval", choices=("eval", "train"))
    args = parser.parse_args(argv)
    docs = list(evaluation_set(args.seed, args.count, args.split))
    scores, elapsed = evaluate(pipeline_engine(args.models), docs)
    print(format_table({"ocrstack": scores}))
    print(f"{len(docs)} pages in {elapsed:.1f} s ({elapsed / len(docs) * 1000:.0f} ms/page)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
