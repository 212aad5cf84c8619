"""Fine-scale text proposals from the network outputs: decode, clip, threshold, NMS."""

from dataclasses import dataclass

import numpy as np
from ctpn_bbox import nms

from ctpn.anchors import STRIDE, grid_anchors

SCORE_THRESH = 0.7
NMS_THRESH = 0.3


@dataclass
class Proposals:
    boxes: np.ndarray  # (M, 4) float64 [x1, y1, x2, y2], inclusive pixels, 16 px wide
    scores: np.ndarray  # (M,) text probability
    sides: np.ndarray  # (M,) x of the nearest line end as predicted by side refinement


def decode(anchors: np.ndarray, v_deltas: np.ndarray) -> np.ndarray:
    """Anchors (N,4) + CTPN vertical deltas (N,2) (dy, dh) -> boxes (N,4); x is the anchor's."""
    ha = anchors[:, 3] - anchors[:, 1] + 1
    cya = (anchors[:, 1] + anchors[:, 3]) / 2
    cy = v_deltas[:, 0] * ha + cya
    h = np.exp(np.clip(v_deltas[:, 1], -10, 10)) * ha
    return np.stack([anchors[:, 0], cy - (h - 1) / 2, anchors[:, 2], cy + (h - 1) / 2], 1)


def clip_boxes(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    out = boxes.copy()
    out[:, 0::2] = np.clip(out[:, 0::2], 0, width - 1)
    out[:, 1::2] = np.clip(out[:, 1::2], 0, height - 1)
    return out


def text_proposals(
    cls_prob: np.ndarray,
    v_deltas: np.ndarray,
    side_offsets: np.ndarray,
    height: int,
    width: int,
    score_thresh: float = SCORE_THRESH,
    nms_thresh: float = NMS_THRESH,
) -> Proposals:
    """One image's outputs ([h,w,10], [h,w,10,2], [h,w,10]) -> kept proposals, best score first."""
    fh, fw = cls_prob.shape[:2]
    anchors = grid_anchors(fh, fw, STRIDE)
    scores = cls_prob.reshape(-1).astype(np.float64)
    keep = np.flatnonzero(scores >= score_thresh)
    anchors = anchors[keep]
    boxes = clip_boxes(decode(anchors, v_deltas.reshape(-1, 2)[keep].astype(np.float64)), height, width)
    sides = (anchors[:, 0] + anchors[:, 2]) / 2 + side_offsets.reshape(-1)[keep] * STRIDE
    scores = scores[keep]
    kept = nms(np.hstack([boxes, scores[:, None]]), nms_thresh)
    return Proposals(boxes[kept], scores[kept], sides[kept])
