"""CTPN anchors: k=10 boxes 16 px wide with fixed heights, centred in each 16x16 feature cell.

Boxes are [x1, y1, x2, y2] in inclusive pixels (width = x2 - x1 + 1), like `ctpn_bbox`.
"""

import numpy as np

ANCHOR_HEIGHTS = (11, 16, 23, 33, 48, 68, 97, 139, 198, 283)
ANCHOR_WIDTH = 16
STRIDE = 16


def base_anchors(stride: int = STRIDE) -> np.ndarray:
    """The k anchors of the cell at the origin, (10, 4) float64, in ANCHOR_HEIGHTS order."""
    h = np.asarray(ANCHOR_HEIGHTS, dtype=np.float64)
    cx = cy = (stride - 1) / 2.0
    half_w = (ANCHOR_WIDTH - 1) / 2.0
    x1, x2 = np.full_like(h, cx - half_w), np.full_like(h, cx + half_w)
    return np.stack([x1, cy - (h - 1) / 2, x2, cy + (h - 1) / 2], 1)


def grid_anchors(feat_h: int, feat_w: int, stride: int = STRIDE) -> np.ndarray:
    """All anchors, (feat_h*feat_w*10, 4), ordered row-major (y, x, k) like the network's [h, w, 10]."""
    ys, xs = np.meshgrid(np.arange(feat_h) * stride, np.arange(feat_w) * stride, indexing="ij")
    shifts = np.stack([xs, ys, xs, ys], -1).reshape(-1, 1, 4).astype(np.float64)
    return (shifts + base_anchors(stride)[None]).reshape(-1, 4)
