"""Fit detected lines to the ink: CTPN's 16 px granularity is too coarse for short table cells.

Inside the band of a line the grayscale image is binarised with Otsu's threshold (computed on the
band, so degraded pages get their own), ink pixels are measured along the line's slope, and the
quad is set to the ink: left/right ends to the first/last ink columns within SEARCH px of the
detected ends, top/bottom to the ink rows. Ink separated from the line by a horizontal gap wider
than `split_gap` (a neighbouring table cell) is never joined, and a detected line that spans such a
gap is split in two. Output quads use pixel-edge coordinates: a line whose ink covers columns a..b
spans x = a .. b + 1, like the ground truth of `ocr_synth`.
"""

import cv2
import numpy as np

SEARCH = 24  # px the ends may move outwards
MIN_CONTRAST = 40  # grey levels between ink and paper; below this the band is left as detected
ROW_GAP = 2  # blank rows inside a line's ink (accents, i-dots) that do not separate lines


def split_gap(height: float) -> float:
    """Horizontal ink gap (px) above which two pieces of ink are separate lines.

    Word spaces are ~0.3 em and CJK punctuation leaves up to ~0.6 em; table cells are >= 30 px apart.
    """
    return float(np.clip(0.9 * height, 10, 26))


def to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)


def _runs(mask: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """(start, end) inclusive index runs of True, joining runs separated by <= max_gap False values."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > max_gap + 1)
    starts = np.r_[idx[0], idx[breaks + 1]]
    ends = np.r_[idx[breaks], idx[-1]]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _ink(gray_band: np.ndarray) -> np.ndarray | None:
    band = cv2.medianBlur(gray_band, 3) if min(gray_band.shape) >= 3 else gray_band
    if int(band.max()) - int(band.min()) < MIN_CONTRAST:
        return None
    _, mask = cv2.threshold(band, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return mask > 0


def _quad(left: float, right: float, top: float, bottom: float, slope: float, x_ref: float) -> np.ndarray:
    def y(base: float, x: float) -> float:
        return base + slope * (x - x_ref)

    return np.array(
        [[left, y(top, left)], [right, y(top, right)], [right, y(bottom, right)], [left, y(bottom, left)]],
        dtype=np.float32,
    )


def refine_quad(gray: np.ndarray, quad: np.ndarray) -> list[np.ndarray]:
    """One detected quad (clockwise from top-left) -> the quad(s) fitted to the ink."""
    quad = np.asarray(quad, dtype=np.float64)
    H, W = gray.shape[:2]
    left, right = quad[[0, 3], 0].mean(), quad[[1, 2], 0].mean()
    if right - left < 1:
        return [quad.astype(np.float32)]
    slope = (quad[1, 1] - quad[0, 1]) / (quad[1, 0] - quad[0, 0]) if quad[1, 0] > quad[0, 0] else 0.0
    top = quad[0, 1] + slope * (left - quad[0, 0])  # the top edge's y at x = left
    bottom = quad[3, 1] + slope * (left - quad[3, 0])
    height = bottom - top
    if height < 2:
        return [quad.astype(np.float32)]
    pad = max(2.0, 0.15 * height)
    x0, x1 = int(max(0, np.floor(left - SEARCH))), int(min(W - 1, np.ceil(right + SEARCH)))
    reach = abs(slope) * (x1 - x0)
    y0 = int(max(0, np.floor(quad[:, 1].min() - pad - reach)))
    y1 = int(min(H - 1, np.ceil(quad[:, 1].max() + pad + reach)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return [quad.astype(np.float32)]
    ink = _ink(gray[y0 : y1 + 1, x0 : x1 + 1])
    if ink is None:
        return [quad.astype(np.float32)]
    ys, xs = np.nonzero(ink)
    xs = xs + x0
    yp = ys + y0 - slope * (xs - left)  # y measured from the line's slope, at x = left
    band = (yp >= top - pad) & (yp <= bottom + pad)
    xs, yp = xs[band], yp[band]
    if len(xs) == 0:
        return [quad.astype(np.float32)]

    def row_run(sel: np.ndarray) -> tuple[float, float] | None:
        """The run of ink rows nearest to the line's centre (neighbour lines are other runs)."""
        if not sel.any():
            return None
        base = int(np.floor(top - pad))
        rows = np.bincount(np.floor(yp[sel]).astype(int) - base, minlength=1) > 0
        runs = _runs(rows, ROW_GAP)
        mid = (top + bottom) / 2 - base
        r0, r1 = min(runs, key=lambda r: max(0.0, r[0] - mid, mid - r[1] - 1))
        return r0 + base, r1 + base + 1

    rr = row_run((xs >= left) & (xs < right))
    if rr is None:
        return [quad.astype(np.float32)]
    in_rows = (yp >= rr[0]) & (yp < rr[1])
    cols = np.bincount(xs[in_rows] - x0, minlength=x1 - x0 + 1) > 0
    lo, hi = left - x0, right - x0
    out = []
    for a, b in _runs(cols, int(split_gap(height))):
        if min(b + 1, hi) - max(a, lo) < 0.5 * (b - a + 1):  # mostly outside the detection: a neighbour
            continue
        rr_run = row_run((xs >= a + x0) & (xs <= b + x0))
        if rr_run is None:
            continue
        out.append(_quad(a + x0, b + x0 + 1, rr_run[0], rr_run[1], slope, left))
    return out


def refine_quads(image: np.ndarray, quads: list[np.ndarray]) -> list[np.ndarray]:
    """All detected quads of a page fitted to its ink (a quad may split in two or vanish)."""
    gray = to_gray(image)
    out: list[np.ndarray] = []
    for q in quads:
        out += refine_quad(gray, q)
    return out
