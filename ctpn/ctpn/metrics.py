"""Detection precision/recall/F1 at an IoU threshold, one-to-one greedy matching of polygons."""

import numpy as np
from shapely.geometry import Polygon


def quad_iou(a: np.ndarray, b: np.ndarray) -> float:
    pa, pb = Polygon(np.asarray(a, dtype=np.float64)), Polygon(np.asarray(b, dtype=np.float64))
    if not pa.is_valid:
        pa = pa.buffer(0)
    if not pb.is_valid:
        pb = pb.buffer(0)
    union = pa.union(pb).area
    return float(pa.intersection(pb).area / union) if union > 0 else 0.0


def match_quads(pred_quads, gt_quads, iou_threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """One-to-one (pred index, gt index, IoU) pairs, matched greedily from the highest IoU down."""
    pred, gt = list(pred_quads), list(gt_quads)
    pairs = sorted(
        ((quad_iou(p, g), i, j) for i, p in enumerate(pred) for j, g in enumerate(gt)), reverse=True
    )
    used_p, used_g, matches = set(), set(), []
    for iou, i, j in pairs:
        if iou < iou_threshold:
            break
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
            matches.append((i, j, iou))
    return matches


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """tp, fp, fn, precision, recall, f1 of counts (precision / recall 1.0 when nothing was found / due)."""
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


def detection_prf(pred_quads, gt_quads, iou_threshold: float = 0.5) -> dict[str, float]:
    """tp, fp, fn, precision, recall, f1 of the one-to-one matching of `match_quads`."""
    pred, gt = list(pred_quads), list(gt_quads)
    tp = len(match_quads(pred, gt, iou_threshold))
    return prf(tp, len(pred) - tp, len(gt) - tp)
