"""Numpy references for `ctpn_bbox.bbox_overlaps` and `ctpn_bbox.nms` (same +1 convention)."""

import numpy as np


def bbox_overlaps(boxes: np.ndarray, query: np.ndarray) -> np.ndarray:
    """IoU of every box (N,4) against every query box (K,4) -> (N,K) float64."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)[:, None, :]
    q = np.asarray(query, dtype=np.float64).reshape(-1, 4)[None, :, :]
    iw = np.minimum(b[..., 2], q[..., 2]) - np.maximum(b[..., 0], q[..., 0]) + 1
    ih = np.minimum(b[..., 3], q[..., 3]) - np.maximum(b[..., 1], q[..., 1]) + 1
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    area_b = (b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1)
    area_q = (q[..., 2] - q[..., 0] + 1) * (q[..., 3] - q[..., 1] + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(inter > 0, inter / (area_b + area_q - inter), 0.0)
    return iou


def nms(dets: np.ndarray, thresh: float) -> np.ndarray:
    """Indices of kept boxes, highest score first (stable for ties)."""
    d = np.asarray(dets, dtype=np.float64).reshape(-1, 5)
    order = np.argsort(-d[:, 4], kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        iou = bbox_overlaps(d[i : i + 1, :4], d[rest, :4])[0]
        order = rest[iou <= thresh]
    return np.asarray(keep, dtype=np.int64)
