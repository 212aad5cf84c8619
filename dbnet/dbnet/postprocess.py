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

Two kernels of one line that its grown rectangles make overlap (a gap in the probability map inside
a word, at a fold or a faded letter, or between words narrower than the growth) become one line
(`join_split_lines`): each rectangle reaches into the other's letters, so both crops read the
letters of the seam. On the 50 validation receipts this split 38 lines, `WA12 - 12/144` read as
`WA12` and `2 - 12/144`, `DOUBLE EXT BOX` as `DOUBLE EXT B` and `BOX`, and the two halves' centres
fell in different rows of the page. Pieces of very different heights (a large amount beside two
rows of small print), a chain that would grow taller than a line (pieces stepping down the page)
and text running down the page are not joined.
"""

from __future__ import annotations

import cv2
import numpy as np
from ctpn.postprocess import TooManyLines
from ctpn.refine import refine_quads

from dbnet.targets import SHRINK, quad_height

THRESH = 0.3  # DBPostProcess thresh: pixels of the probability map taken as kernel
BOX_THRESH = 0.6  # PaddleOCR's inference default det_db_box_thresh: mean probability over a kernel
MIN_SIZE = 3.0  # px across, at the detector's scale (DBPostProcess min_size)
MAX_CANDIDATES = 1000
# A line grown back shorter than this many heights (a digit alone in a table cell, one hanzi) is
# taken upright: its kernel is a blob a few pixels across, whose minimum-area rectangle may lie at
# any angle. Turned 26-45 degrees, such a "5" was read as nothing or as "6G".
SHORT = 1.5
# `join_split_lines`: two rectangles are one line's when they overlap along it, run within this
# many degrees of each other, the shorter is at least JOIN_HEIGHT_RATIO of the taller's height and
# shares JOIN_HEIGHT_SHARE of it with the taller; a group stays within JOIN_GROW x its tallest's.
JOIN_DEGREES = 10.0
JOIN_HEIGHT_RATIO = 0.5
JOIN_HEIGHT_SHARE = 0.6
JOIN_GROW = 1.3


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


def _frame(quad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A quad's unit vectors along its top edge and across it (downwards)."""
    along = quad[1] - quad[0]
    along = along / max(float(np.hypot(*along)), 1e-6)
    return along, np.array([-along[1], along[0]], np.float32)


def _extent(points: np.ndarray, axis: np.ndarray) -> tuple[float, float]:
    values = points @ axis
    return float(values.min()), float(values.max())


def _length(quad: np.ndarray) -> float:
    return float(np.hypot(*(quad[1] - quad[0])))


def _joinable(quad: np.ndarray) -> bool:
    """Whether a quad's top edge is its line's direction. `order_quad` takes the two leftmost
    corners as the left side, so a steep line's "top edge" is its thickness: a vertical label
    would run horizontally and join the lines it touches."""
    return quad_height(quad) < SHORT * _length(quad)


def _one_line(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether `a` and `b` (ordered, `_joinable` quads) are two pieces of one line (see the module)."""
    frame_a, frame_b = _frame(a), _frame(b)
    along, across = frame_a if _length(a) >= _length(b) else frame_b
    if float(frame_a[0] @ frame_b[0]) < np.cos(np.deg2rad(JOIN_DEGREES)):
        return False
    heights = quad_height(a), quad_height(b)
    if min(heights) < JOIN_HEIGHT_RATIO * max(heights):
        return False  # a large amount touching two rows of small print
    (a0, a1), (b0, b1) = _extent(a, along), _extent(b, along)
    if min(a1, b1) <= max(a0, b0):  # apart along the line (touching is apart)
        return False
    (a0, a1), (b0, b1) = _extent(a, across), _extent(b, across)
    shared = min(a1, b1) - max(a0, b0)
    return shared >= JOIN_HEIGHT_SHARE * min(a1 - a0, b1 - b0)


def _around(pieces: list[np.ndarray]) -> np.ndarray:
    """The rectangle around `pieces` in the frame of the longest."""
    along, across = _frame(max(pieces, key=_length))
    points = np.concatenate(pieces)
    (s0, s1), (t0, t1) = _extent(points, along), _extent(points, across)
    corners = [(s0, t0), (s1, t0), (s1, t1), (s0, t1)]
    return np.array([s * along + t * across for s, t in corners], np.float32)


def join_split_lines(quads: list[np.ndarray]) -> list[np.ndarray]:
    """Quads that are pieces of one line (`_one_line`, transitively) joined into the rectangle
    around them (`_around`); the others unchanged, in their order. A join that would make the
    group's rectangle more than JOIN_GROW x its tallest piece's height is not made: pieces that
    step down a row at a time, or bend with a curled page, are not one straight line."""
    group = list(range(len(quads)))  # each quad's group, keyed by one of its members
    members = {i: [i] for i in range(len(quads))}
    # only pairs whose upright bounding boxes meet are candidates (a page of 1000 lines has half a
    # million pairs, a few hundred of them near each other)
    corners = np.asarray(quads, np.float32).reshape(-1, 4, 2)
    low, high = corners.min(axis=1), corners.max(axis=1)
    meet = np.all((low[:, None] < high[None, :]) & (low[None, :] < high[:, None]), axis=2)
    joinable = np.array([_joinable(q) for q in quads], bool)
    meet &= joinable[:, None] & joinable[None, :]
    for i, j in np.argwhere(np.triu(meet, k=1)):
        gi, gj = group[i], group[j]
        if gi == gj or not _one_line(quads[i], quads[j]):
            continue
        ids = members[gi] + members[gj]
        tallest = max(quad_height(quads[k]) for k in ids)
        if quad_height(_around([quads[k] for k in ids])) > JOIN_GROW * tallest:
            continue
        for k in members.pop(gj):
            group[k] = gi
        members[gi] = ids
    groups = sorted(members.values(), key=min)  # in the order of their first piece
    return [quads[ids[0]] if len(ids) == 1 else _around([quads[k] for k in ids]) for ids in groups]


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
    quads = [q / np.float32(scale) for q in join_split_lines(quads)]
    if scale > 1.0:  # enlarged: fit to the ink (see the module)
        quads = refine_quads(image_rgb, quads, scale)
    out = []
    for q in quads:
        q = q.copy()
        q[:, 0] = np.clip(q[:, 0], 0, w)
        q[:, 1] = np.clip(q[:, 1], 0, h)
        out.append(q.astype(np.float32))
    return out
