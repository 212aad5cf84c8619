"""End-to-end evaluation: detection P/R/F1 and CER of the whole pipeline on generated documents.

The same scoring serves every engine (ours, RapidOCR, Tesseract in bench/compare_ocr.py): an engine
is anything that turns an RGB page into (text, quad) lines.

Scoring: predicted and ground-truth lines are matched one-to-one at IoU >= 0.5 on their 4-point
boxes. A matched pair costs the edit distance between the texts; a missed ground-truth line costs
all its characters; a spurious prediction costs all of its characters (insertions). CER is the
total cost over the total ground-truth characters, raw and after `crnn.metrics.normalize`.

Line matching punishes an engine that reads two table cells as one line twice (a missed line and a
spurious one). The page-level scores do not (the definitions of `../shared/real/README.md`, so our
figures on real receipts compare with the reference figures measured there): each text normalised
(`crnn.metrics.normalize`, upper case), a page's text is its lines sorted by (round(centre_y / 12),
centre_x) and concatenated; page CER is the edit distance between the reference page and the read
page over the reference characters; character F1 compares the multisets of characters of each page.

Page CER moves whenever a line's centre crosses a 12 px band that its label's centre did not (a
word read as its own line a few pixels higher than the rest of its row, a label box drawn loose
above the text), which every engine suffers. The page CER in the truth's order (`pCERo`) takes that
out: each read line is put where the truth line it overlaps most stands in the reference page
(lines that overlap none keep their own place), so what remains is text misread, missed or added.

Pages come from the generator (`evaluation_set`: seeded, half clean, half degraded) or from any
folder of labelled pages in the truth.json format (`labelled_set`, `ocr_synth.labelled`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path

import numpy as np
import shapely
from crnn.metrics import edits, normalize
from ctpn.metrics import match_quads
from rapidfuzz.distance import Levenshtein

PredictedLine = tuple[str, np.ndarray]  # (text, quad (4, 2))
Engine = Callable[[np.ndarray], list[PredictedLine]]
# an engine that is given the truth's boxes and reads only the text in them (`truth_box_engine`)
BoxEngine = Callable[[np.ndarray, list[np.ndarray]], list[PredictedLine]]


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
    page_edits_truth_order: int = 0  # the read lines in the truth's order (`page_text_in_truth_order`)
    # character multisets of each page (page-level, segmentation-free): in both, read, reference
    chars_common: int = 0
    chars_read: int = 0
    chars_ref: int = 0

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
    def page_cer_truth_order(self) -> float:
        return self.page_edits_truth_order / max(self.ref_chars_norm, 1)

    @property
    def char_precision(self) -> float:
        return self.chars_common / self.chars_read if self.chars_read else 1.0

    @property
    def char_recall(self) -> float:
        return self.chars_common / self.chars_ref if self.chars_ref else 1.0

    @property
    def char_f1(self) -> float:
        p, r = self.char_precision, self.char_recall
        return 2 * p * r / (p + r) if p + r else 0.0

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
            "page_cer_truth_order": round(self.page_cer_truth_order, 4),
            "char_f1": round(self.char_f1, 4),
            "line_acc_raw": round(self.line_acc_raw, 4),
            "line_acc_norm": round(self.line_acc_norm, 4),
        }


@dataclass
class FontScore:
    """Line-level figures of the generated lines one typeface drew (the held-out targets are per family)."""

    lines: int = 0
    ref_chars_norm: int = 0
    edits_norm: int = 0

    def add(self, line: LineResult) -> None:
        self.lines += 1
        self.ref_chars_norm += len(normalize(line.ref or ""))
        self.edits_norm += line.edits_norm

    @property
    def cer_norm(self) -> float:
        return self.edits_norm / max(self.ref_chars_norm, 1)


def format_fonts(rows: dict[str, dict[str, FontScore]], iou: float) -> str:
    """Line CERn per typeface and engine, one row per typeface."""
    engines = list(rows)
    families = sorted({family for fonts in rows.values() for family in fonts})
    width = max([len(e) + 2 for e in engines] + [12])
    header = f"{'typeface (line CERn, IoU ' + str(iou) + ')':<40}{'lines':>7}" + "".join(
        f"{e:>{width}}" for e in engines
    )
    out = [header, "-" * len(header)]
    for family in families:
        count = max(rows[e][family].lines for e in engines if family in rows[e])
        cells = "".join(
            f"{rows[e][family].cer_norm:>{width}.4f}" if family in rows[e] else " " * width for e in engines
        )
        out.append(f"{family[:39]:<40}{count:>7}{cells}")
    return "\n".join(out)


@dataclass(frozen=True)
class LineResult:
    """One ground-truth line and what was read for it, or one prediction that matched nothing."""

    ref: str | None  # None: a spurious prediction
    hyp: str | None  # None: a missed ground-truth line
    quad: np.ndarray  # the ground-truth quad (the prediction's for a spurious line)

    @cached_property  # scoring, the errors file and its filter all ask
    def edits_norm(self) -> int:
        return edits(normalize(self.hyp or ""), normalize(self.ref or ""))


def match_lines(
    predicted: Sequence[PredictedLine],
    truth: Sequence[tuple[str, np.ndarray]],
    iou_threshold: float = 0.5,
) -> list[LineResult]:
    """Ground-truth lines in order, each with its matched prediction's text, then the spurious ones."""
    pairs = match_quads([q for _, q in predicted], [q for _, q in truth], iou_threshold)
    matched_gt = {g: p for p, g, _ in pairs}
    matched_pred = set(matched_gt.values())
    results = [
        LineResult(ref, predicted[matched_gt[g]][0] if g in matched_gt else None, quad)
        for g, (ref, quad) in enumerate(truth)
    ]
    spurious = (p for p in range(len(predicted)) if p not in matched_pred)
    results += [LineResult(None, predicted[p][0], predicted[p][1]) for p in spurious]
    return results


def score_page(
    predicted: Sequence[PredictedLine],
    truth: Sequence[tuple[str, np.ndarray]],
    iou_threshold: float = 0.5,
) -> Score:
    return score_lines(match_lines(predicted, truth, iou_threshold), predicted, truth)


def score_lines(
    results: Sequence[LineResult],
    predicted: Sequence[PredictedLine],
    truth: Sequence[tuple[str, np.ndarray]],
) -> Score:
    """A page's score from its matched lines (`match_lines`)."""
    score = Score(pages=1, gt_lines=len(truth), pred_lines=len(predicted))
    for line in results:
        ref, hyp = line.ref or "", line.hyp or ""
        ref_n = normalize(ref)
        score.matched += line.ref is not None and line.hyp is not None
        score.ref_chars_raw += len(ref)
        score.ref_chars_norm += len(ref_n)
        score.edits_raw += edits(hyp, ref)
        score.edits_norm += line.edits_norm
        if line.ref is not None and line.hyp is not None:
            score.exact_raw += hyp == ref
            score.exact_norm += line.edits_norm == 0
    read, ref = page_text(predicted), page_text(truth)
    score.page_edits_norm = edits(read, ref)
    score.page_edits_truth_order = edits(page_text_in_truth_order(predicted, truth), ref)
    score.chars_common = sum((Counter(read) & Counter(ref)).values())
    score.chars_read, score.chars_ref = len(read), len(ref)
    return score


def confusions(results: Iterable[LineResult]) -> Counter[tuple[str, str]]:
    """(reference, read) pieces of every edit on the normalised texts: ('.', ',') is 。 read as ，."""
    counts: Counter[tuple[str, str]] = Counter()
    for line in results:
        ref, hyp = normalize(line.ref or ""), normalize(line.hyp or "")
        for op in Levenshtein.opcodes(ref, hyp):
            if op.tag != "equal":
                counts[ref[op.src_start : op.src_end], hyp[op.dest_start : op.dest_end]] += 1
    return counts


def read_truth(path: Path) -> list[tuple[str, np.ndarray]]:
    """Ground truth of a page as stored beside it (samples/*.json: [{"text", "quad"}, ...])."""
    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    return [(row["text"], np.asarray(row["quad"], dtype=np.float32)) for row in rows]


def api_lines(body: dict) -> list[PredictedLine]:
    """The lines of a `POST /v1/ocr` response body, in the form score_page takes."""
    return [(line["text"], np.asarray(line["box"], dtype=np.float32)) for line in body["lines"]]


PAGE_ROW_PX = 12  # lines whose centres are within a 12 px band count as one row (shared/real/README.md)


def _page_key(quad: np.ndarray) -> tuple[int, float]:
    cx, cy = np.asarray(quad, dtype=np.float64).reshape(4, 2).mean(axis=0)
    return round(cy / PAGE_ROW_PX), float(cx)


def _joined(keys: Sequence[tuple], lines: Sequence[tuple[str, np.ndarray]]) -> str:
    """The lines' normalised, upper-case texts concatenated in the order of their keys."""
    texts = (normalize(text).upper() for text, _ in lines)
    return "".join(text for _, text in sorted(zip(keys, texts, strict=True), key=lambda k: k[0]))


def page_text(lines: Sequence[tuple[str, np.ndarray]]) -> str:
    """A page's normalised text: lines sorted by (round(centre_y / 12), centre_x), concatenated."""
    return _joined([_page_key(quad) for _, quad in lines], lines)


def _polygons(lines: Sequence[tuple[str, np.ndarray]]) -> np.ndarray:
    corners = [np.asarray(quad, dtype=np.float64).reshape(4, 2) for _, quad in lines]
    return shapely.make_valid(shapely.polygons(corners))


def page_text_in_truth_order(
    predicted: Sequence[PredictedLine], truth: Sequence[tuple[str, np.ndarray]]
) -> str:
    """`page_text` of the read lines, each sorted by the key of the truth line it overlaps most (by
    area; the lines on one truth line by their own centre_x), a line that overlaps none by its own."""
    if not predicted:
        return ""
    keys = [(row, cx, cx) for row, cx in (_page_key(quad) for _, quad in predicted)]
    if truth:
        overlap = shapely.area(shapely.intersection(_polygons(predicted)[:, None], _polygons(truth)[None, :]))
        for i, row in enumerate(overlap):
            if row.max() > 0:
                keys[i] = (*_page_key(truth[int(row.argmax())][1]), keys[i][2])
    return _joined(keys, predicted)


def evaluation_set(seed: int, count: int, split: str = "eval") -> Iterable[tuple[str, object]]:
    """`count` documents: the first half clean, the second half degraded, reproducible by seed."""
    from ocr_synth import documents

    clean = count // 2
    for doc in documents.generate(seed, clean, split, degrade=False):
        yield "clean", doc
    for doc in documents.generate(seed + 1, count - clean, split, degrade=True):
        yield "degraded", doc


def labelled_set(folder: Path, count: int | None = None) -> list[tuple[str, object]]:
    """The first `count` pages of a labelled folder (truth.json format), as ("<folder name>", page)."""
    from ocr_synth.labelled import load_folder

    return [(Path(folder).name, page) for page in load_folder(folder, limit=count)]


def evaluate(
    engine: Engine | BoxEngine,
    docs: Sequence[tuple[str, object]],
    progress: bool = True,
    lines_out: list[tuple[str, int, LineResult]] | None = None,
    iou_thresholds: Sequence[float] = (0.5,),
    by_font: dict[str, FontScore] | None = None,
    truth_boxes: bool = False,
) -> tuple[dict[str, Score], float]:
    """Score `engine` on `docs` from `evaluation_set` or `labelled_set`.

    Returns ({half: Score, ..., "all": Score}, seconds spent inside the engine), lines matched at the
    first IoU threshold; every further threshold adds an "all@<iou>" score. `lines_out`, if given,
    receives (half, page index, LineResult) for every line (first threshold); `by_font` the line
    CER of each typeface that drew a generated line (at the last threshold, the loosest asked).
    `truth_boxes`: `engine` is a `BoxEngine`, given each page's true boxes as well as its image.
    """
    import time

    from tqdm import tqdm

    first, *more = iou_thresholds
    scores: dict[str, Score] = {}
    extra = {f"all@{iou}": Score() for iou in more}
    elapsed = 0.0
    for index, (half, doc) in enumerate(tqdm(docs, disable=not progress, desc="evaluate", unit="page")):
        start = time.perf_counter()
        if truth_boxes:
            predicted = engine(doc.image, [np.asarray(line.quad) for line in doc.lines])
        else:
            predicted = engine(doc.image)
        elapsed += time.perf_counter() - start
        truth = [(line.text, line.quad) for line in doc.lines]
        results = match_lines(predicted, truth, first)
        page = score_lines(results, predicted, truth)
        scores.setdefault(half, Score())
        scores[half] += page
        loosest = results  # the lines matched at the last threshold, for `by_font`
        for iou in more:
            loosest = match_lines(predicted, truth, iou)
            extra[f"all@{iou}"] += score_lines(loosest, predicted, truth)
        if by_font is not None:
            for gt, line in zip(doc.lines, loosest, strict=False):  # truth lines come first, in order
                if gt.font:  # generated pages only
                    by_font.setdefault(gt.font, FontScore()).add(line)
        if lines_out is not None:
            lines_out.extend((half, index, line) for line in results)
    total = Score()
    for score in scores.values():
        total += score
    return {**scores, "all": total, **extra}, elapsed


def write_errors(path: Path, lines: Iterable[tuple[str, int, LineResult]]) -> Counter[tuple[str, str]]:
    """Every line read wrong (normalised) as JSON lines; returns the confusions among them."""
    wrong = [(half, page, line) for half, page, line in lines if line.edits_norm]
    with open(path, "w", encoding="utf-8") as out:
        for half, page, line in wrong:
            quad = np.asarray(line.quad).round(1).tolist()
            row = {"half": half, "page": page, "ref": line.ref, "read": line.hyp,
                   "edits_norm": line.edits_norm, "quad": quad}  # fmt: skip
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return confusions(line for _, _, line in wrong)


def pipeline_engine(model_dir: Path, orient: bool = False, detector: str | None = None) -> Engine:
    """Our pipeline; `orient`: with the page-orientation model (OCR_ORIENT), as the service reads;
    `detector`: "ctpn" or "dbnet" (OCR_DETECTOR; None: the service's default)."""
    from ocr_service.pipeline import Pipeline, PipelineConfig
    from ocr_service.runners import SavedModelRunner
    from ocr_service.settings import Settings

    settings = Settings(orient=orient, detector=detector or Settings.detector)  # type: ignore[arg-type]
    # not a request: no deadline worth the name (the first page also loads the models)
    config = PipelineConfig(orient=orient, detector=settings.detector, deadline_s=3600.0)
    models = settings.models
    pipeline = Pipeline(SavedModelRunner(model_dir, models=models), config)

    def run(image: np.ndarray) -> list[PredictedLine]:
        # read_many: the path the service takes (orientation included); read() for the figures of
        # earlier releases, which it gave
        lines = pipeline.read_many([image])[0][0].lines if orient else pipeline.read(image).lines
        return [(line.text, np.asarray(line.box, dtype=np.float32)) for line in lines]

    return run


def truth_box_engine(model_dir: Path) -> BoxEngine:
    """Our recogniser alone, on the truth's own boxes (`Pipeline.read_boxes`): what the pipeline
    would read with a perfect detector. Beside the pipeline's figures, it splits a set's error into
    the recogniser's share and the detector's (missed, split or merged lines, box geometry)."""
    from ocr_service.pipeline import Pipeline, PipelineConfig
    from ocr_service.runners import SavedModelRunner

    pipeline = Pipeline(SavedModelRunner(model_dir), PipelineConfig(deadline_s=3600.0))

    def run(image: np.ndarray, quads: list[np.ndarray]) -> list[PredictedLine]:
        lines = pipeline.read_boxes(image, quads)
        return [(line.text, np.asarray(line.box, dtype=np.float32)) for line in lines]

    return run


def rotated_engine(engine: Engine, degrees: int) -> Engine:
    """`engine` shown each page turned `degrees` counter-clockwise; its boxes (in the turned page)
    are turned back, so they score against the upright truth."""
    from ocr_service.orientation import quad_to_sent

    k = degrees // 90 % 4
    if k == 0:
        return engine

    def run(image: np.ndarray) -> list[PredictedLine]:
        height, width = image.shape[:2]
        lines = engine(np.ascontiguousarray(np.rot90(image, k)))
        # the upright page is the turned one turned (4 - k) more quarter turns
        return [(text, quad_to_sent(quad, (4 - k) % 4, width, height)) for text, quad in lines]

    return run


# A page as a phone photographs it on a table (`photographed_engine`): turned up to this many
# degrees either way, shown at 0.6-0.9x, in the middle of a dark table (mean grey, sd) 1.6x the
# page's width and 1.25x its height; the photo no larger than a 12 MP phone camera's 4032 x 3024
# (a 600 dpi A4 scan is shrunk further).
PHOTO_MAX_DEGREES = 8.0
PHOTO_SCALE = (0.6, 0.9)
PHOTO_TABLE = (1.6, 1.25)
PHOTO_TABLE_GREY = (45.0, 12.0)
PHOTO_MAX_PIXELS = 4032 * 3024


def photographed_engine(engine: Engine) -> Engine:
    """`engine` shown each page as a phone photo of it on a dark table (PHOTO_*); its boxes (in the
    photo) are mapped back into the page's pixels, so they score against the page's truth.

    The photo of a page is drawn from a generator seeded by the page's pixels: every engine of a
    run, and every run, sees the same photo of it."""
    import zlib

    import cv2
    from ocr_synth.degrade import transform_quads

    def run(image: np.ndarray) -> list[PredictedLine]:
        rng = np.random.default_rng(zlib.crc32(np.ascontiguousarray(image).tobytes()))
        height, width = image.shape[:2]
        table_w, table_h = width * PHOTO_TABLE[0], height * PHOTO_TABLE[1]
        angle = rng.uniform(-PHOTO_MAX_DEGREES, PHOTO_MAX_DEGREES)
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, rng.uniform(*PHOTO_SCALE))
        matrix[:, 2] += ((table_w - width) / 2, (table_h - height) / 2)
        camera = min(1.0, (PHOTO_MAX_PIXELS / (table_w * table_h)) ** 0.5)
        matrix *= camera
        table_w, table_h = round(table_w * camera), round(table_h * camera)
        page = cv2.warpAffine(image, matrix, (table_w, table_h), flags=cv2.INTER_LINEAR)
        paper = cv2.warpAffine(np.full((height, width), 255, np.uint8), matrix, (table_w, table_h))
        table = rng.normal(*PHOTO_TABLE_GREY, size=page.shape).clip(0, 255).astype(np.uint8)
        photo = np.where((paper > 127).reshape(paper.shape + (1,) * (page.ndim - 2)), page, table)
        lines = engine(photo)
        back = transform_quads([quad for _, quad in lines], cv2.invertAffineTransform(matrix))
        return [(text, quad) for (text, _), quad in zip(lines, back, strict=True)]

    return run


def load_docs(truth: Path | None, seed: int, count: int | None, split: str = "eval") -> list:
    """Labelled pages from `truth` (a folder), else `count` generated ones (default 40)."""
    if truth is not None:
        from ocr_synth.labelled import LabelledFolderError

        try:
            return labelled_set(truth, count)
        except LabelledFolderError as exc:
            raise SystemExit(f"error: {exc}") from exc
    return list(evaluation_set(seed, count or 40, split))


def format_table(rows: dict[str, dict[str, Score]]) -> str:
    """One row per (engine, half) with the figures the issue asks for."""
    width = max([len(engine) + 1 for engine in rows] + [12])  # "ocrstack-dbnet" and longer names
    header = (
        f"{'engine':<{width}}{'set':<14}{'pages':>6}{'P':>8}{'R':>8}{'F1':>8}"
        f"{'CER':>8}{'CERn':>8}{'pCERn':>8}{'pCERo':>8}{'chF1':>8}{'acc':>8}{'accn':>8}"
    )
    out = [header, "-" * len(header)]
    for engine, halves in rows.items():
        for half, s in halves.items():
            out.append(
                f"{engine:<{width}}{half[:13]:<14}{s.pages:>6}{s.precision:>8.4f}{s.recall:>8.4f}{s.f1:>8.4f}"
                f"{s.cer_raw:>8.4f}{s.cer_norm:>8.4f}{s.page_cer_norm:>8.4f}{s.page_cer_truth_order:>8.4f}"
                f"{s.char_f1:>8.4f}"
                f"{s.line_acc_raw:>8.4f}{s.line_acc_norm:>8.4f}"
            )
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    from ocr_service.settings import DETECTORS

    parser = argparse.ArgumentParser(prog="ocr-evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("models"), help="TF Serving layout model dir")
    parser.add_argument("--seed", type=int, default=12345, help="evaluation seed (never used in training)")
    parser.add_argument(
        "--count", type=int, default=None,
        help="documents, half clean, half degraded (default 40); with --truth: the first N pages "
        "(default all)",
    )  # fmt: skip
    parser.add_argument("--split", default="eval", choices=("eval", "heldout", "train"))
    parser.add_argument(
        "--truth", type=Path, metavar="DIR",
        help="score on a folder of labelled pages (images + truth.json) instead of generated ones",
    )  # fmt: skip
    parser.add_argument(
        "--iou", type=float, nargs="+", default=[0.5], metavar="T",
        help="IoU thresholds for line matching (the first one for the per-set rows); e.g. --iou 0.5 0.3",
    )  # fmt: skip
    parser.add_argument(
        "--errors", type=Path, metavar="FILE",
        help="write every line read wrong (JSON lines: half, page, ref, read, edits, quad) and print "
        "the most common confusions",
    )  # fmt: skip
    parser.add_argument(
        "--orient", action="store_true",
        help="turn each page upright with the orientation model (<models>/orient), as OCR_ORIENT=on does",
    )  # fmt: skip
    parser.add_argument(
        "--detector", choices=DETECTORS, default=None,
        help="the line detector, as OCR_DETECTOR sets it (default: the default of ocr_service.settings)",
    )  # fmt: skip
    parser.add_argument(
        "--rotate", type=int, default=0, choices=(0, 90, 180, 270),
        help="show each page turned this many degrees counter-clockwise (a rotated copy of the set); "
        "boxes are turned back for scoring",
    )  # fmt: skip
    parser.add_argument(
        "--truth-boxes", action="store_true",
        help="read the truth's own boxes with the recogniser alone (no detector): the recogniser's "
        "share of the error; detection figures are then perfect by construction",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.truth_boxes and (args.orient or args.rotate):
        parser.error("--truth-boxes reads the truth's boxes as they are: leave out --orient and --rotate")
    docs = load_docs(args.truth, args.seed, args.count, args.split)
    lines: list[tuple[str, int, LineResult]] = []
    if args.truth_boxes:
        engine = truth_box_engine(args.models)
    else:
        engine = rotated_engine(
            pipeline_engine(args.models, orient=args.orient, detector=args.detector), args.rotate
        )
    fonts: dict[str, FontScore] = {}
    scores, elapsed = evaluate(
        engine, docs, lines_out=lines, iou_thresholds=args.iou, by_font=fonts, truth_boxes=args.truth_boxes
    )
    print(format_table({"ocrstack": scores}))
    if fonts:
        print(format_fonts({"ocrstack": fonts}, args.iou[-1]))
    print(f"{len(docs)} pages in {elapsed:.1f} s ({elapsed / len(docs) * 1000:.0f} ms/page)")
    if args.errors:
        counts = write_errors(args.errors, lines)
        print(f"lines read wrong: {args.errors}; most common confusions (normalised reference -> read):")
        top = counts.most_common(15)
        print("  " + "  ".join(f"{ref or '∅'!r}->{hyp or '∅'!r} {n}" for (ref, hyp), n in top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
