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


def _meets(boxes: np.ndarray, i: int, js: np.ndarray) -> np.ndarray:
    """For each j of `js`: does proposal j overlap proposal i vertically, with a similar height?"""
    h_i = boxes[i, 3] - boxes[i, 1] + 1
    h_j = boxes[js, 3] - boxes[js, 1] + 1
    top, bottom = np.maximum(boxes[i, 1], boxes[js, 1]), np.minimum(boxes[i, 3], boxes[js, 3])
    overlap = np.maximum(0.0, bottom - top + 1)
    low, high = np.minimum(h_i, h_j), np.maximum(h_i, h_j)
    return (overlap / low >= MIN_V_OVERLAP) & (low / high >= MIN_SIZE_SIM)


def _neighbours(boxes: np.ndarray, by_x: dict[int, np.ndarray], i: int, direction: int) -> np.ndarray:
    x = int(round(boxes[i, 0]))
    for step in range(1, MAX_GAP + 1):
        column = by_x.get(x + direction * step)
        if column is None:
            continue
        found = column[_meets(boxes, i, column)]
        if len(found):
            return found
    return np.zeros(0, dtype=np.intp)


def successors(boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(M,) index of each proposal's mutual best successor, -1 for none.

    One entry per proposal instead of an M x M matrix: a page of small text gives tens of thousands
    of proposals, whose dense graph alone would take gigabytes (issue 13). The candidates of each
    column are compared in one numpy expression.
    """
    n = len(boxes)
    xs = np.round(boxes[:, 0]).astype(np.int64) if n else np.zeros(0, dtype=np.int64)
    by_x = {int(x): np.flatnonzero(xs == x) for x in np.unique(xs)}
    succ = np.full(n, -1, dtype=np.intp)
    for i in range(n):
        found = _neighbours(boxes, by_x, i, +1)
        if not len(found):
            continue
        j = int(found[int(np.argmax(scores[found]))])
        prec = _neighbours(boxes, by_x, j, -1)
        if scores[i] >= scores[prec].max():
            succ[i] = j
    return succ


def build_graph(boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Adjacency (M,M) bool: graph[i, j] when j is the mutual best successor of i (for inspection;
    `connect` works on `successors`, which holds the same links without the M x M matrix)."""
    succ = successors(boxes, scores)
    graph = np.zeros((len(boxes), len(boxes)), dtype=bool)
    linked = np.flatnonzero(succ >= 0)
    graph[linked, succ[linked]] = True
    return graph


def group_proposals(graph: np.ndarray) -> list[list[int]]:
    """Chains of the graph, each from a proposal without precursor, left to right."""
    succ = np.full(len(graph), -1, dtype=np.intp)
    rows, cols = np.nonzero(graph)
    succ[rows[::-1]] = cols[::-1]  # the first successor of each row, as before
    return _chains(succ)


def _chains(succ: np.ndarray) -> list[list[int]]:
    has_prec = np.zeros(len(succ), dtype=bool)
    has_prec[succ[succ >= 0]] = True
    groups = []
    for i in np.flatnonzero(~has_prec).tolist():
        chain = [i]
        while succ[chain[-1]] >= 0:
            chain.append(int(succ[chain[-1]]))
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
    for group in _chains(successors(boxes, scores)):
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
