"""Training targets of Differentiable Binarization (Liao et al., AAAI 2020) for text-line quads.

Four maps at the crop's full resolution:
- `shrink_map`: 1 inside each line's kernel (the quad shrunk by a share of its height), else 0;
- `shrink_mask`: 0 where the loss must not look (lines cut by the crop's edge, lines too small);
- `thresh_map`: the threshold the network should learn, THRESH_MIN away from any line and rising to
  THRESH_MAX on a line's outline (1 - distance / offset inside the band between kernel and the quad
  grown by the same offset);
- `thresh_mask`: that band.

The shrink offset is where this departs from the paper. DB (and PaddleOCR's MakeShrinkMap /
MakeBorderMap, shrink_ratio 0.4, thresh_min 0.3, thresh_max 0.7) offsets a polygon by
D = A (1 - r^2) / L: fine for ICDAR words about three times wider than tall, but a document line
fifty times wider than tall keeps 16% of its height, a 2 px kernel for 14 px text, which the
network's 1/4-resolution features cannot place. Here the offset is SHRINK x the quad's height for
every line: a kernel keeps 1 - 2 SHRINK of the height whatever the line's length, rows of a receipt
printed a few pixels apart stay apart, and `dbnet.postprocess` grows a kernel back by the exact
inverse (SHRINK / (1 - 2 SHRINK) of its own height).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SHRINK = 0.3  # share of a line's height taken off each side of its quad for the kernel
THRESH_MIN, THRESH_MAX = 0.3, 0.7  # PaddleOCR MakeBorderMap's defaults
CLIPPER_UNIT = 64  # Clipper works on integers: coordinates in 1/64 px
SUPERSAMPLE = 8  # sub-pixels per pixel side when a polygon is drawn (`fill`)
# A line narrower than it is tall (a receipt's quantity "1", one hanzi) is taught as if it were this
# many heights wide: shrunk by SHRINK x its height on each side, a "1" 10 px wide and 14 tall leaves
# a kernel under 2 px wide, too thin to find (the first model missed every such line). Found, it
# grows back to a square box around the character (IoU 0.71 with that "1"'s own box).
MIN_WIDTH = 1.0
MIN_HEIGHT = 4.0  # px: lines less tall than this are ignored (masked), not taught as text or paper


@dataclass
class Maps:
    shrink_map: np.ndarray  # float32 [H, W] in {0, 1}
    shrink_mask: np.ndarray  # float32 [H, W] in {0, 1}
    thresh_map: np.ndarray  # float32 [H, W] in [THRESH_MIN, THRESH_MAX]
    thresh_mask: np.ndarray  # float32 [H, W] in {0, 1}


def fill(canvas: np.ndarray, polygon: np.ndarray, value: float) -> None:
    """Set the pixels at least half covered by `polygon` to `value`.

    Pixel-edge coordinates, as `ocr_synth` draws its quads: pixel (x, y) spans [x, x+1) x [y, y+1).
    OpenCV's fillPoly also fills every pixel its outline touches, a pixel too many on each side of
    a kernel a few pixels tall, so the polygon is drawn at SUPERSAMPLE x resolution and each pixel
    takes the share of its sub-pixels inside.
    """
    poly = np.asarray(polygon, np.float64).reshape(-1, 2)
    h, w = canvas.shape
    x0, y0 = (max(0, int(np.floor(v))) for v in poly.min(axis=0))
    x1, y1 = min(w, int(np.ceil(poly[:, 0].max()))), min(h, int(np.ceil(poly[:, 1].max())))
    if x1 <= x0 or y1 <= y0:
        return
    s = SUPERSAMPLE
    fine = np.zeros(((y1 - y0) * s, (x1 - x0) * s), np.uint8)
    # sub-pixel i covers [i, i+1) / s: its centre is inside when the outline, drawn through sub-pixel
    # centres, encloses it (fillPoly's extra ring is then 1/s px)
    points = np.round(((poly - [x0, y0]) * s - 0.5) * 16).astype(np.int32)
    cv2.fillPoly(fine, [points], 1, shift=4)
    covered = fine.reshape(y1 - y0, s, x1 - x0, s).mean(axis=(1, 3)) >= 0.5
    canvas[y0:y1, x0:x1][covered] = value


def quad_height(quad: np.ndarray) -> float:
    """Mean length of a quad's left and right sides (points in reading order: tl, tr, br, bl)."""
    q = np.asarray(quad, np.float64).reshape(4, 2)
    return 0.5 * float(np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1]))


def widened(quad: np.ndarray, height: float) -> np.ndarray:
    """The quad made MIN_WIDTH x `height` wide along its own direction if it is narrower, centred."""
    q = np.asarray(quad, np.float64).reshape(4, 2)
    width = 0.5 * float(np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3]))
    pad = 0.5 * (MIN_WIDTH * height - width)
    if pad <= 0:
        return np.asarray(quad, np.float32).reshape(4, 2)
    along = (q[1] - q[0]) + (q[2] - q[3])
    norm = float(np.linalg.norm(along))
    unit = along / norm if norm > 0 else np.array([1.0, 0.0])
    return (q + np.outer([-1, 1, 1, -1], unit) * pad).astype(np.float32)


def offset(polygon: np.ndarray, distance: float) -> list[np.ndarray]:
    """The polygon grown (distance > 0) or shrunk (< 0) by `distance` px with round joins (Clipper)."""
    import pyclipper  # training only: serving (dbnet.postprocess) needs SHRINK, not Clipper

    pco = pyclipper.PyclipperOffset()
    path = np.round(np.asarray(polygon, np.float64).reshape(-1, 2) * CLIPPER_UNIT).astype(np.int64)
    pco.AddPath(path.tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    grown = pco.Execute(distance * CLIPPER_UNIT)
    return [np.asarray(p, np.float64).reshape(-1, 2) / CLIPPER_UNIT for p in grown]


def _segment_distance(xs: np.ndarray, ys: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of every point (xs, ys) from the segment a-b."""
    ab = b - a
    length2 = float(ab @ ab)
    if length2 == 0.0:
        return np.hypot(xs - a[0], ys - a[1])
    t = np.clip(((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / length2, 0.0, 1.0)
    return np.hypot(xs - (a[0] + t * ab[0]), ys - (a[1] + t * ab[1]))


def _draw_border(quad: np.ndarray, distance: float, canvas: np.ndarray, mask: np.ndarray) -> None:
    """Raise `canvas` to 1 - d / distance within `distance` of the quad's outline; mark `mask` there."""
    grown = offset(quad, distance)
    if not grown:
        return
    outer = grown[0]
    fill(mask, outer, 1.0)
    h, w = canvas.shape
    x0, y0 = (max(0, int(np.floor(v))) for v in outer.min(axis=0))
    x1 = min(w - 1, int(np.ceil(outer[:, 0].max())))
    y1 = min(h - 1, int(np.ceil(outer[:, 1].max())))
    if x1 < x0 or y1 < y0:
        return
    ys, xs = np.mgrid[y0 : y1 + 1, x0 : x1 + 1].astype(np.float64)
    q = np.asarray(quad, np.float64).reshape(4, 2)
    d = np.min([_segment_distance(xs, ys, q[i], q[(i + 1) % 4]) for i in range(4)], axis=0)
    closeness = 1.0 - np.clip(d / distance, 0.0, 1.0)
    region = canvas[y0 : y1 + 1, x0 : x1 + 1]
    np.maximum(region, closeness.astype(np.float32), out=region)


def make_maps(height: int, width: int, quads: np.ndarray, ignore: np.ndarray | None = None) -> Maps:
    """DB targets for the lines `quads` (M, 4, 2) of a height x width crop; `ignore` quads are masked."""
    shrink_map = np.zeros((height, width), np.float32)
    shrink_mask = np.ones((height, width), np.float32)
    canvas = np.zeros((height, width), np.float32)
    thresh_mask = np.zeros((height, width), np.float32)
    for quad in np.asarray(ignore if ignore is not None else [], np.float32).reshape(-1, 4, 2):
        fill(shrink_mask, quad, 0.0)
    for quad in np.asarray(quads, np.float32).reshape(-1, 4, 2):
        h = quad_height(quad)
        quad = widened(quad, h)
        kernels = offset(quad, -SHRINK * h) if h >= MIN_HEIGHT else []
        if len(kernels) != 1:  # too small to shrink into one piece: neither text nor paper
            fill(shrink_mask, quad, 0.0)
            continue
        fill(shrink_map, kernels[0], 1.0)
        _draw_border(quad, SHRINK * h, canvas, thresh_mask)
    thresh_map = canvas * (THRESH_MAX - THRESH_MIN) + THRESH_MIN
    return Maps(shrink_map, shrink_mask, thresh_map, thresh_mask)
