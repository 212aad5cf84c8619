"""Training examples: documents -> random crops with anchor targets, made in a worker process.

Documents come from `ocr_synth.documents.render_document` (~0.2 s each), and, at a chosen share, from
folders of labelled real pages (`ocr_synth.labelled`, the truth.json format); several crops are taken
from each so the training step never waits. The worker process never imports TensorFlow.
"""

import multiprocessing as mp
import queue
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import cv2
import numpy as np

from ctpn.anchors import STRIDE
from ctpn.preprocess import resize, scale_for
from ctpn.targets import Targets, anchor_targets

CAPTURE_SHARE = 0.3  # training documents that also go through a print/capture model
# Crops are rescaled by a factor drawn from these ranges around the size the detector reads the page
# at. A real page (a scan) also as small as a phone photo shows it: held at arm's length, a receipt's
# text comes out at about half a flatbed's pixels, and DB trained at 0.8-1.25x read such photos
# (`bench/compare_ocr.py --photographed`) with rows run together, where RapidOCR did not.
CROP_SCALES = (0.8, 1.25)
REAL_CROP_SCALES = (0.5, 1.25)


@dataclass
class Example:
    image: np.ndarray  # uint8 [S, S, 3]
    targets: Any  # a dataclass of arrays: `ctpn.targets.Targets`, or another detector's maps


def ctpn_targets(size: int, keep: np.ndarray, cut: np.ndarray, rng: np.random.Generator) -> Targets:
    """CTPN's anchor targets of a size x size crop (lines cut by its top or bottom edge ignored)."""
    return anchor_targets(keep, size // STRIDE, size // STRIDE, rng, ignore_quads=cut)


# (crop size, kept quads, cut quads, rng) -> targets: a module-level function, so a spawned worker
# can be given it
TargetMaker = Callable[[int, np.ndarray, np.ndarray, np.random.Generator], Any]


def render(rng: np.random.Generator, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """One synthetic document (image RGB uint8, quads (M,4,2) float32); half of them degraded.

    Training documents (split "train") also go through a print/capture model at CAPTURE_SHARE
    (`ocr_synth.capture`: thermal fade, dot matrix, streaks, perspective, shadow, low resolution).
    """
    try:
        from ocr_synth import capture, documents  # optional dependency (extra "train")
    except ImportError as error:
        raise ImportError(
            "training needs the synthetic documents of ocr_synth: pip install 'ctpn[train]' (or ./synth)"
        ) from error
    doc = documents.render_document(rng, split=split, degrade=None)  # None: degraded half the time
    quads = np.asarray([line.quad for line in doc.lines], dtype=np.float32).reshape(-1, 4, 2)
    image = np.asarray(doc.image, dtype=np.uint8)
    if split == "train" and rng.random() < CAPTURE_SHARE:
        image, moved = capture.apply(rng, image, list(quads))
        quads = np.asarray(moved, dtype=np.float32).reshape(-1, 4, 2)
    return image, quads


def random_crop(
    image: np.ndarray, quads: np.ndarray, rng: np.random.Generator, size: int, scale_range=CROP_SCALES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rescale randomly, crop size x size (white padding), return (crop, kept quads, cut quads).

    Lines cut by the crop's top or bottom edge are returned as "cut" (ignored in training); lines cut
    at the left or right edge are kept, clipped, since their visible part is still a text line.
    """
    s = float(rng.uniform(*scale_range))
    h, w = image.shape[:2]
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    quads = quads * np.array([nw / w, nh / h], dtype=np.float32)
    y0 = int(rng.integers(0, max(1, nh - size + 1)))
    x0 = int(rng.integers(0, max(1, nw - size + 1)))
    crop = np.full((size, size, 3), 255, dtype=np.uint8)
    part = image[y0 : y0 + size, x0 : x0 + size]
    crop[: part.shape[0], : part.shape[1]] = part
    q = quads - np.array([x0, y0], dtype=np.float32)
    keep, cut = [], []
    for quad in q:
        x_lo, x_hi = quad[:, 0].min(), quad[:, 0].max()
        y_lo, y_hi = quad[:, 1].min(), quad[:, 1].max()
        if x_hi < 0 or x_lo > size - 1 or y_hi < 0 or y_lo > size - 1:
            continue
        if y_lo < 0 or y_hi > size - 1:
            cut.append(np.clip(quad, 0, size - 1))
        elif x_hi - x_lo >= 0:
            clipped = quad.copy()
            clipped[:, 0] = np.clip(clipped[:, 0], 0, size - 1)
            if clipped[:, 0].max() - clipped[:, 0].min() >= 2:
                keep.append(clipped)
    as_arr = lambda qs: np.asarray(qs, dtype=np.float32).reshape(-1, 4, 2)  # noqa: E731
    return crop, as_arr(keep), as_arr(cut)


def real_page(rng: np.random.Generator, pages: list) -> tuple[np.ndarray, np.ndarray]:
    """A random labelled page (image RGB uint8, quads (M,4,2) float32), read from disk each time.

    At the scale the detector reads it (`preprocess.scale_for`): a 3000 px tall scan is read at
    1600 px and text far from the target size is brought to it, so training crops of a real page
    must show its text at that size, not at the size the scanner stored it.
    """
    page = pages[int(rng.integers(len(pages)))]
    image = page.read_rgb()
    scaled = resize(image, scale_for(image))
    quads = np.asarray([line.quad for line in page.lines], dtype=np.float32).reshape(-1, 4, 2)
    (h, w), (sh, sw) = image.shape[:2], scaled.shape[:2]
    return scaled, quads * np.array([sw / w, sh / h], dtype=np.float32)


def make_examples(
    rng: np.random.Generator,
    size: int,
    crops_per_doc: int,
    real: list | None = None,
    real_share: float = 0.0,
    targets: TargetMaker = ctpn_targets,
) -> list[Example]:
    """Crops of one document: a labelled real page (`real_share` of the time) or a rendered one."""
    is_real = bool(real) and rng.random() < real_share
    image, quads = real_page(rng, real) if is_real else render(rng)
    out = []
    for _ in range(crops_per_doc):
        crop, keep, cut = random_crop(image, quads, rng, size, REAL_CROP_SCALES if is_real else CROP_SCALES)
        out.append(Example(crop, targets(size, keep, cut, rng)))
    return out


def _worker(
    seed: int,
    size: int,
    crops_per_doc: int,
    q: "mp.Queue",
    real: tuple = (),
    real_share: float = 0.0,
    targets: TargetMaker = ctpn_targets,
) -> None:
    rng = np.random.default_rng(seed)
    pages = []
    if real:
        from ocr_synth.labelled import load_folder

        pages = [page for folder in real for page in load_folder(folder)]
    failures = 0
    while True:
        try:
            examples = make_examples(rng, size, crops_per_doc, pages, real_share, targets)
        except Exception as e:  # one bad document must not stop a long run
            failures += 1
            print(f"data worker: skipped a document ({type(e).__name__}: {e})", flush=True)
            if failures > 100:
                raise
            continue
        for ex in examples:
            q.put(ex)


class ExampleStream:
    """Background producer of examples; `batch(n)` stacks n of them into training arrays.

    `targets` makes each crop's training targets (CTPN's anchors unless another detector's maker is
    given); `batch` returns "image" and one stacked array per field of those targets.
    """

    def __init__(
        self,
        seed: int,
        size: int = 512,
        crops_per_doc: int = 3,
        workers: int = 1,
        maxsize: int = 64,
        real: tuple = (),
        real_share: float = 0.0,
        targets: TargetMaker = ctpn_targets,
    ) -> None:
        ctx = mp.get_context("spawn")
        self.queue = ctx.Queue(maxsize=maxsize)
        self.procs = [
            ctx.Process(
                target=_worker,
                args=(
                    seed * 1000 + i,
                    size,
                    crops_per_doc,
                    self.queue,
                    tuple(map(str, real)),
                    real_share,
                    targets,
                ),
                daemon=True,
            )
            for i in range(workers)
        ]
        for p in self.procs:
            p.start()

    def batch(self, n: int, timeout: float = 300.0) -> dict[str, np.ndarray]:
        exs = []
        while len(exs) < n:
            try:
                exs.append(self.queue.get(timeout=timeout))
            except queue.Empty as e:
                raise RuntimeError("data worker produced nothing; is ocr_synth installed?") from e
        batch = {"image": np.stack([e.image for e in exs])}
        for field in fields(exs[0].targets):
            batch[field.name] = np.stack([getattr(e.targets, field.name) for e in exs])
        return batch

    def close(self) -> None:
        for p in self.procs:
            p.terminate()
            p.join(timeout=5)
