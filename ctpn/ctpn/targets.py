"""Training targets: ground-truth line quads -> per-anchor labels, vertical and side targets.

A text line is cut into strips along the 16 px cell grid (CTPN's fine-scale proposals). Labels use
the vertical extent of each strip over the full cell width, so a cell that holds any ink of the line
is text; where the line really starts and ends is learnt by the side-refinement targets.
"""

from dataclasses import dataclass

import numpy as np
from ctpn_bbox import bbox_overlaps

from ctpn.anchors import ANCHOR_HEIGHTS, STRIDE, grid_anchors

POS_IOU = 0.7
NEG_IOU = 0.5
SIDE_RANGE = 32.0  # px between an anchor centre and a line end for the anchor to learn the end


@dataclass
class Targets:
    labels: np.ndarray  # int8 [h, w, 10]: 1 text, 0 background, -1 not sampled
    v_targets: np.ndarray  # float32 [h, w, 10, 2]: (dy, dh), valid where labels == 1
    side_targets: np.ndarray  # float32 [h, w, 10]: (x_end - anchor_cx) / 16
    side_mask: np.ndarray  # float32 [h, w, 10]: 1 where side_targets is valid
    v_mask: np.ndarray  # float32 [h, w, 10]: 1 for every positive anchor, sampled or not


def _edge_y(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> np.ndarray:
    """y of the straight edge p->q at x (flat if the edge is vertical)."""
    if abs(q[0] - p[0]) < 1e-6:
        return np.full_like(x, (p[1] + q[1]) / 2, dtype=np.float64)
    return p[1] + (q[1] - p[1]) * (x - p[0]) / (q[0] - p[0])


def split_quads(quads: np.ndarray, stride: int = STRIDE) -> tuple[np.ndarray, np.ndarray]:
    """Cut quads (M,4,2) clockwise from top-left into grid strips.

    Returns strips (S,4) [x1, y1, x2, y2] where x1/x2 are the ink's x-range inside the cell and
    y1/y2 the line's top/bottom over that range, and the index of the quad of each strip (S,).
    """
    strips, owner = [], []
    for i, q in enumerate(np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2)):
        xmin, xmax = q[:, 0].min(), q[:, 0].max()
        for c in range(int(np.floor(xmin / stride)), int(np.floor(xmax / stride)) + 1):
            x1, x2 = max(c * stride, xmin), min(c * stride + stride - 1, xmax)
            xs = np.array([x1, x2])
            top = _edge_y(q[0], q[1], xs).min()
            bottom = _edge_y(q[3], q[2], xs).max()
            strips.append([x1, top, x2, bottom])
            owner.append(i)
    return np.asarray(strips, dtype=np.float64).reshape(-1, 4), np.asarray(owner, dtype=np.int64)


def anchor_targets(
    quads: np.ndarray,
    feat_h: int,
    feat_w: int,
    rng: np.random.Generator,
    ignore_quads: np.ndarray | None = None,
    batch_size: int = 256,
    pos_fraction: float = 0.5,
    stride: int = STRIDE,
) -> Targets:
    """Targets for one image. `ignore_quads` (lines cut by a crop edge) are neither text nor background."""
    k = len(ANCHOR_HEIGHTS)
    anchors = grid_anchors(feat_h, feat_w, stride)
    n = len(anchors)
    labels = np.full(n, -1, dtype=np.int8)
    v_t = np.zeros((n, 2), dtype=np.float32)
    side_t = np.zeros(n, dtype=np.float32)
    side_m = np.zeros(n, dtype=np.float32)

    strips, owner = split_quads(quads, stride)
    cell = np.floor(strips[:, 0] / stride)
    full = np.stack([cell * stride, strips[:, 1], cell * stride + stride - 1, strips[:, 3]], 1)
    inside = (cell >= 0) & (cell < feat_w)
    strips, owner, full = strips[inside], owner[inside], full[inside]

    if len(full):
        iou = bbox_overlaps(anchors, full)
        best = iou.argmax(1)
        max_iou = iou[np.arange(n), best]
        labels[max_iou < NEG_IOU] = 0
        labels[max_iou >= POS_IOU] = 1
        best_anchor = iou.argmax(0)
        labels[best_anchor[iou[best_anchor, np.arange(len(full))] > 0]] = 1
        # an anchor forced positive for one strip may match another strip better; keep its best
        best = np.where(labels == 1, iou.argmax(1), best)
    else:
        labels[:] = 0
        best = np.zeros(n, dtype=np.int64)

    if ignore_quads is not None and len(ignore_quads):
        ign, _ = split_quads(ignore_quads, stride)
        icell = np.floor(ign[:, 0] / stride)
        ifull = np.stack([icell * stride, ign[:, 1], icell * stride + stride - 1, ign[:, 3]], 1)
        near = bbox_overlaps(anchors, ifull).max(1) > 0.2
        labels[near & (labels == 0)] = -1

    pos = np.flatnonzero(labels == 1)
    if len(pos):
        g = full[best[pos]]
        a = anchors[pos]
        ha = a[:, 3] - a[:, 1] + 1
        hg = g[:, 3] - g[:, 1] + 1
        v_t[pos, 0] = ((g[:, 1] + g[:, 3]) / 2 - (a[:, 1] + a[:, 3]) / 2) / ha
        v_t[pos, 1] = np.log(hg / ha)
        # side refinement: the nearest end of the anchor's own line, if within SIDE_RANGE
        qs = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2)
        line = owner[best[pos]]
        left, right = qs[line, :, 0].min(1), qs[line, :, 0].max(1)
        cx = (a[:, 0] + a[:, 2]) / 2
        end = np.where(np.abs(cx - left) <= np.abs(cx - right), left, right)
        near_end = np.abs(cx - end) <= SIDE_RANGE
        side_t[pos[near_end]] = (end[near_end] - cx[near_end]) / stride
        side_m[pos[near_end]] = 1.0

    v_m = (labels == 1).astype(np.float32)
    # sample: at most batch_size * pos_fraction positives, the rest negatives
    pos = np.flatnonzero(labels == 1)
    max_pos = int(batch_size * pos_fraction)
    if len(pos) > max_pos:
        labels[rng.choice(pos, len(pos) - max_pos, replace=False)] = -1
    neg = np.flatnonzero(labels == 0)
    max_neg = batch_size - int((labels == 1).sum())
    if len(neg) > max_neg:
        labels[rng.choice(neg, len(neg) - max_neg, replace=False)] = -1
    # vertical and side targets stay valid for positives not sampled for the class loss
    shape = (feat_h, feat_w, k)
    return Targets(
        labels=labels.reshape(shape),
        v_targets=v_t.reshape(shape + (2,)),
        side_targets=side_t.reshape(shape),
        side_mask=side_m.reshape(shape),
        v_mask=v_m.reshape(shape),
    )
