"""Text-proposal connector (CTPN paper): proposals -> text lines as 4-point quads.

Each proposal links to its best successor: the nearest proposals to the right (x1 within
MAX_GAP px) that overlap it vertically (overlap_v >= MIN_V_OVERLAP) and have a similar height
(>= MIN_SIZE_SIM); the link is kept only if it is mutual (the proposal is also the best precursor
of its successor). Chains of links are lines. The top and bottom edges are straight lines with the
least-squares slope of the proposal centres, shifted to enclose the proposals, so slightly slanted
lines get a non-rectangular quad; the ends come from the side-refinement of the end proposals.
"""

import numpy as np

MAX_GAP = 50
MIN_V_OVERLAP = 0.7
MIN_SIZE_SIM = 0.7
MIN_SINGLE_SCORE = 0.9  # a one-proposal line (a single narrow character) needs a confident score
MAX_SIDE_SHIFT = 24.0  # px a side prediction may move a line end from the proposal boundary


def _meets(boxes: np.ndarray, i: int, j: int) -> bool:
    h_i = boxes[i, 3] - boxes[i, 1] + 1
    h_j = boxes[j, 3] - boxes[j, 1] + 1
    overlap = max(0.0, min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1]) + 1)
    return overlap / min(h_i, h_j) >= MIN_V_OVERLAP and min(h_i, h_j) / max(h_i, h_j) >= MIN_SIZE_SIM


def _neighbours(boxes: np.ndarray, by_x: dict[int, list[int]], i: int, direction: int) -> list[int]:
    x = int(round(boxes[i, 0]))
    for step in range(1, MAX_GAP + 1):
        found = [j for j in by_x.get(x + direction * step, []) if _meets(boxes, i, j)]
        if found:
            return found
    return []


def build_graph(boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Adjacency (M,M) bool: graph[i, j] when j is the mutual best successor of i."""
    n = len(boxes)
    by_x: dict[int, list[int]] = {}
    for i in range(n):
        by_x.setdefault(int(round(boxes[i, 0])), []).append(i)
    graph = np.zeros((n, n), dtype=bool)
    for i in range(n):
        succ = _neighbours(boxes, by_x, i, +1)
        if not succ:
            continue
        j = succ[int(np.argmax(scores[succ]))]
        prec = _neighbours(boxes, by_x, j, -1)
        if scores[i] >= scores[prec].max():
            graph[i, j] = True
    return graph


def group_proposals(graph: np.ndarray) -> list[list[int]]:
    """Chains of the graph, each from a proposal without precursor, left to right."""
    groups = []
    for i in range(len(graph)):
        if graph[:, i].any():
            continue
        chain = [i]
        while graph[chain[-1]].any():
            chain.append(int(np.flatnonzero(graph[chain[-1]])[0]))
        groups.append(chain)
    return groups


def fit_quad(boxes: np.ndarray, left: float, right: float) -> np.ndarray:
    """Quad (4,2) float32 enclosing the boxes between x=left and x=right, edges with a common slope."""
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    slope = np.polyfit(cx, cy, 1)[0] if len(boxes) >= 2 and np.ptp(cx) > 0 else 0.0
    # the extreme corner of each box in the slope's direction must lie inside the band
    top = np.minimum(boxes[:, 1] - slope * boxes[:, 0], boxes[:, 1] - slope * boxes[:, 2]).min()
    bottom = np.maximum(boxes[:, 3] - slope * boxes[:, 0], boxes[:, 3] - slope * boxes[:, 2]).max()
    return np.array(
        [
            [left, slope * left + top],
            [right, slope * right + top],
            [right, slope * right + bottom],
            [left, slope * left + bottom],
        ],
        dtype=np.float32,
    )


def connect(
    boxes: np.ndarray, scores: np.ndarray, sides: np.ndarray | None = None
) -> tuple[list[np.ndarray], list[float]]:
    """Proposals -> (quads clockwise from top-left, mean score of each line), left end to right end."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    quads, line_scores = [], []
    for group in group_proposals(build_graph(boxes, scores)):
        b = boxes[group]
        s = float(scores[group].mean())
        if len(group) == 1 and s < MIN_SINGLE_SCORE:
            continue
        order = np.argsort(b[:, 0])
        b = b[order]
        left, right = b[0, 0], b[-1, 2]
        if sides is not None and len(group) >= 2:  # one proposal cannot tell its left end from its right
            sd = np.asarray(sides, dtype=np.float64)[np.asarray(group)[order]]
            left = float(np.clip(sd[0], left - MAX_SIDE_SHIFT, left + MAX_SIDE_SHIFT))
            right = float(np.clip(sd[-1], right - MAX_SIDE_SHIFT, right + MAX_SIDE_SHIFT))
            if right <= left:
                left, right = b[0, 0], b[-1, 2]
        quads.append(fit_quad(b, left, right))
        line_scores.append(s)
    return quads, line_scores
