"""Probability map -> text-line quads in original-image pixels.

As PaddleOCR's DBPostProcess (thresh 0.3, a kernel's score >= box_thresh, at least 3 px across, at
most 1000 candidates), except the score (see `kernels_to_quads`) and the growth back to the line:
a kernel is its line with SHRINK x the line's height taken off every side (`dbnet.targets`), so a
kernel of thickness t grows back by SHRINK x t / (1 - 2 SHRINK) on every side, the exact inverse,
instead of DB's unclip by area x ratio / perimeter; and a kernel too short to have a direction
(a lone digit, one hanzi) comes back upright (SHORT).

On a page the detector saw enlarged (text under `ctpn.preprocess.INK_BAND`: fine print, a tiny crop
of one line) each line is then fitted to the ink as CTPN's are (`ctpn.refine`; as there, a line with
no ink darker than its paper under it, or only a red seal's, has nothing to read and is dropped).
There DB's kernels follow the blur of the enlargement: on ten 10 px receipt lines
(tests/pipeline/test_bundled_models.py) its rectangles reached 1-2 px past the ink on every side, a
fifth of the line's height, and the recogniser read `Subtotal` as `SUBTOTAL`: 23 edits in 98
characters grown back, 1 fitted. No page of the validation or test sets, generated or real, is
enlarged (their scale is at most 1), so none of their figures depends on this. The cap of
candidates rises above 1000 for a caller that allows more lines (`max_lines`), so such a page is
refused rather than cut short.
"""

from __future__ import annotations

import cv2
import numpy as np
from ctpn.postprocess import TooManyLines
from ctpn.refine import refine_quads

from dbnet.targets import SHRINK

THRESH = 0.3  # DBPostProcess thresh: pixels of the probability map taken as kernel
BOX_THRESH = 0.6  # PaddleOCR's inference default det_db_box_thresh: mean probability over a kernel
MIN_SIZE = 3.0  # px across, at the detector's scale (DBPostProcess min_size)
MAX_CANDIDATES = 1000
# A line grown back shorter than this many heights (a digit alone in a table cell, one hanzi) is
# taken upright: its kernel is a blob a few pixels across, whose minimum-area rectangle may lie at
# any angle. Turned 26-45 degrees, such a "5" was read as nothing or as "6G".
SHORT = 1.5


def order_quad(points: np.ndarray) -> np.ndarray:
    """Four corners as top-left, top-right, bottom-right, bottom-left (lines read left to right)."""
    p = np.asarray(points, np.float32).reshape(4, 2)
    p = p[np.argsort(p[:, 0], kind="stable")]
    left, right = p[:2][np.argsort(p[:2, 1])], p[2:][np.argsort(p[2:, 1])]
    return np.stack([left[0], right[0], right[1], left[1]])


def kernels_to_quads(
    prob: np.ndarray, max_candidates: int = MAX_CANDIDATES
) -> tuple[list[np.ndarray], list[float]]:
    """Quads (4, 2) float32 and scores, in the probability map's pixels (pixel-edge coordinates);
    the `max_candidates` largest kernels are considered.

    A kernel is a connected region of pixels over THRESH; its score is their mean probability (not
    DB's mean over the kernel's rectangle, whose rounding on a kernel a few pixels tall takes in a
    row of paper and costs a straight line 17% of its score).
    """
    bitmap = (prob > THRESH).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bitmap, connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA]
    mean = np.bincount(labels.ravel(), weights=prob.ravel(), minlength=count) / np.maximum(area, 1)
    quads, scores = [], []
    for i in np.argsort(-area[1:], kind="stable")[:max_candidates] + 1:
        if mean[i] < BOX_THRESH:
            continue
        x, y, w, h = stats[i, :4]
        points = cv2.findNonZero((labels[y : y + h, x : x + w] == i).astype(np.uint8))
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(points + np.int32([x, y]))
        if min(rw, rh) + 1.0 < MIN_SIZE:  # pixel centres span one pixel less than the pixels
            continue
        # The kernel's thickness is its area over its length: the rectangle through its pixels'
        # centres is a pixel too thick on a slanted kernel's staircase. The line is the kernel
        # with SHRINK of its own height added on every side.
        length = max(rw, rh) + 1.0
        height = area[i] / length / (1.0 - 2.0 * SHRINK)
        along, across = length + 2.0 * SHRINK * height, height
        if along < SHORT * across:  # a blob: upright, centred on its pixels (x, y, w, h: edges)
            # its mean extent each way (a round blob's bounding box is wider than its rectangle)
            height = area[i] / w / (1.0 - 2.0 * SHRINK)
            rect = ((x + 0.5 * w, y + 0.5 * h), (area[i] / h + 2.0 * SHRINK * height, height), 0.0)
        else:
            size = (along, across) if rw >= rh else (across, along)
            rect = ((cx + 0.5, cy + 0.5), size, angle)  # + 0.5: pixel centres to edges
        quads.append(order_quad(cv2.boxPoints(rect)))
        scores.append(float(mean[i]))
    return quads, scores


def detect_lines(
    prob: np.ndarray, image_rgb: np.ndarray, scale: float, max_lines: int | None = None
) -> list[np.ndarray]:
    """The probability map of a prepared page (`ctpn.preprocess.prepare`) -> quads in the page's pixels.

    `max_lines`: raise `ctpn.postprocess.TooManyLines` when the kernels are more than that, before
    any is fitted to the ink or cropped, as CTPN's `detect_lines` does.
    """
    prob = np.asarray(prob, np.float32)
    prob = prob[0] if prob.ndim == 3 else prob
    h, w = image_rgb.shape[:2]
    rows, cols = min(prob.shape[0], round(h * scale) + 1), min(prob.shape[1], round(w * scale) + 1)
    # a caller's bound above PaddleOCR's cap must still see a page with more lines than it allows
    cap = max(MAX_CANDIDATES, (max_lines or 0) + 1)
    quads, _ = kernels_to_quads(prob[:rows, :cols], cap)
    if max_lines is not None and len(quads) > max_lines:
        raise TooManyLines(len(quads), max_lines)
    quads = [q / np.float32(scale) for q in quads]
    if scale > 1.0:  # enlarged: fit to the ink (see the module)
        quads = refine_quads(image_rgb, quads, scale)
    out = []
    for q in quads:
        q = q.copy()
        q[:, 0] = np.clip(q[:, 0], 0, w)
        q[:, 1] = np.clip(q[:, 1], 0, h)
        out.append(q.astype(np.float32))
    return out
