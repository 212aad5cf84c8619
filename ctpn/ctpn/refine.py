"""Fit detected lines to the ink: CTPN's 16 px granularity is too coarse for short table cells.

Inside the band of a line the grayscale image is binarised with Otsu's threshold (computed on the
band, so degraded pages get their own), ink pixels are measured along the line's slope, and the
quad is set to the ink: left/right ends to the first/last ink columns within SEARCH px of the
detected ends, top/bottom to the ink rows. Ink separated from the line by a horizontal gap wider
than `split_gap` (a neighbouring table cell) is never joined, and a detected line that spans such a
gap is split in two. Output quads use pixel-edge coordinates: a line whose ink covers columns a..b
spans x = a .. b + 1, like the ground truth of `ocr_synth`.

The fixed lengths below are pixels as the detector saw the page (the page's text brought to the
size the detector was trained on, `ctpn.preprocess.scale_for`). A page the detector saw shrunk (a
photo, a 600 dpi scan) has `px` image pixels per detector pixel, and every length but MIN_WIDTH
grows with it: a full-width space at 2x is no table-cell gap, while a `1` or a `:` is narrow at any
size. A page it saw enlarged (fine print) keeps these lengths in its own pixels, all but the least
line height, which goes down to TINY_MIN_HEIGHT.
"""

import cv2
import numpy as np

SEARCH = 24  # px the ends may move outwards
MIN_CONTRAST = 40  # grey levels between ink and paper; below this the band holds no text
ROW_GAP = 2  # blank rows inside a line's ink (accents, i-dots) that do not separate lines
RULE_LOOK = 4  # px above and below the band where a vertical rule must go on
RED_SEAL = 30  # R - max(G, B) above this is a red seal's ink, not text
RULE_LENGTH = 1.5  # line heights of unbroken horizontal ink that make a rule, not a stroke
RULE_MIN = 24  # px; rules and underlines are longer than this
MIN_HEIGHT = 6  # px; thinner ink (a rule's end, a speck) is not a text line
TINY_MIN_HEIGHT = 3  # px of the image: capitals of 8 px print, which the detector saw enlarged
MIN_WIDTH = 3  # px of the image, at any scale: a `1` or a `:` is narrow however large the page
EXTEND_GAP = 0.6  # line heights of blank between the detection's ink and more ink that extends it
MIN_OVERLAP = 8  # px of a piece of ink inside the detection for it to be part of the line
DUPLICATE_IOU = 0.7  # two refined quads this similar are one line found twice
# dashed and dotted rules (`_dashed_rules`), in line heights: marks no thicker than DASHED_THICK whose
# gaps shorter than DASHED_GAP close into a run of DASHED_LENGTH. Chosen on 100 pages of sroie/train
# (never dev); 2 line heights read those pages better still, but took the strokes of 一二三 and 三三
# for a rule in some hanzi typefaces, and a gap of 0.8 those of 第一二三条 (tests/ctpn/test_refine.py)
DASHED_THICK = 0.25
DASHED_GAP = 0.5
DASHED_LENGTH = 3.0
# the rules' openings and closings see paper beyond the band: OpenCV's default border counts it as
# ink, so a stroke at the image's edge (a line that starts with ——) made a rule at half the length
_PAPER = {"borderType": cv2.BORDER_CONSTANT, "borderValue": 0}


def split_gap(height: float, px: float = 1.0) -> float:
    """Horizontal ink gap (px) above which two pieces of ink are separate lines.

    Word spaces are ~0.3 em, a full-width comma leaves up to ~0.9 em blank after its ink; table
    cells are >= 30 px apart (ocr_synth's SAME_ROW_GAP) as the detector sees them.
    """
    return float(np.clip(1.05 * height, 12 * px, 27 * px))


def to_gray(image: np.ndarray) -> np.ndarray:
    """Grayscale in which red seal ink looks like paper (text is black, grey or dark blue)."""
    if image.ndim == 2:
        return image
    rgb = np.ascontiguousarray(image)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    r = rgb[..., 0].astype(np.int16)
    red = r - np.maximum(rgb[..., 1], rgb[..., 2]).astype(np.int16) > RED_SEAL
    gray[red] = 255
    return gray


def _runs(mask: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """(start, end) inclusive index runs of True, joining runs separated by <= max_gap False values."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > max_gap + 1)
    starts = np.r_[idx[0], idx[breaks + 1]]
    ends = np.r_[idx[breaks], idx[-1]]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _ink(band: np.ndarray) -> np.ndarray | None:
    """Otsu ink mask of a band, or None when the band is blank (no contrast)."""
    band = cv2.GaussianBlur(band, (3, 3), 0.7)
    if int(band.max()) - int(band.min()) < MIN_CONTRAST:
        return None
    _, mask = cv2.threshold(band, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return mask > 0


def _nearest_run(runs: list[tuple[int, int]], mid: float) -> tuple[int, int]:
    return min(runs, key=lambda r: max(0.0, r[0] - mid, mid - r[1] - 1))


def _quad(left: float, right: float, top: float, bottom: float, slope: float, x_ref: float) -> np.ndarray:
    """Quad with vertical ends at left/right and edges of the given slope through top/bottom at x_ref."""

    def y(base: float, x: float) -> float:
        return base + slope * (x - x_ref)

    return np.array(
        [[left, y(top, left)], [right, y(top, right)], [right, y(bottom, right)], [left, y(bottom, left)]],
        dtype=np.float32,
    )


def refine_quad(gray: np.ndarray, quad: np.ndarray, px: float = 1.0) -> list[np.ndarray]:
    """One detected quad (clockwise from top-left) -> the quad(s) fitted to the ink.

    `px`: image pixels per pixel of the detector's input (1 / the detector's scale; see the module).

    Returns no quad when the band has no ink (only paper, or a red seal) or none of the ink belongs
    to the detection: such detections have nothing to read.

    The band around the line is resampled along the line's slope into a rectangle (rows parallel to
    the line), so straight and slightly slanted lines are handled alike. Columns or rows that are
    almost entirely ink (table rules, a dark background beside the paper) are not text.
    """
    quad = np.asarray(quad, dtype=np.float64)
    unchanged = [quad.astype(np.float32)]
    H, W = gray.shape[:2]
    left, right = quad[[0, 3], 0].mean(), quad[[1, 2], 0].mean()
    if right - left < 1:
        return unchanged
    slope = (quad[1, 1] - quad[0, 1]) / (quad[1, 0] - quad[0, 0]) if quad[1, 0] > quad[0, 0] else 0.0
    top = quad[0, 1] + slope * (left - quad[0, 0])  # the top edge's y at x = left
    bottom = quad[3, 1] + slope * (left - quad[3, 0])
    height = bottom - top
    if height < 2:
        return unchanged
    k = max(px, 1.0)  # lengths in image pixels (never below the detector's own)
    min_ink = max(float(TINY_MIN_HEIGHT), MIN_HEIGHT * px)
    pad = max(3.0 * k, 0.2 * height)
    # a table rule runs on above or below the text, a letter's stem does not: look RULE_LOOK px further
    look = round(RULE_LOOK * k)
    ext = pad + look
    x0, x1 = int(max(0, np.floor(left - SEARCH * k))), int(min(W - 1, np.ceil(right + SEARCH * k)))
    xs = np.arange(x0, x1 + 1)
    r_base = int(np.floor(top - ext))
    rows = np.arange(r_base, int(np.ceil(bottom + ext)) + 1)
    yy = np.round(rows[:, None] + slope * (xs - left)[None, :]).astype(int)
    inside = (yy >= 0) & (yy < H)
    band = np.where(inside, gray[np.clip(yy, 0, H - 1), xs[None, :]], 255).astype(np.uint8)
    if band.shape[1] < 3 or band.shape[0] < 3 + 2 * look:
        return unchanged
    ink = _ink(band)
    if ink is None:  # nothing darker than the paper (e.g. only a red seal): nothing to read
        return []
    # vertical rules (up to 2 px of slant across the band) and dark background beside the page
    near = ink.copy()
    for d in (1, 2):
        near[:, d:] |= ink[:, :-d]
        near[:, :-d] |= ink[:, d:]
    full = near[look:-look].mean(0) >= 0.9
    goes_on = (near[:look].mean(0) >= 0.75) | (near[-look:].mean(0) >= 0.75)
    for a, b in _runs(full, 0):
        # thin and running on: a rule; touching the band's edge: background; else (a stamp) ink
        if (b - a <= 10 and goes_on[a : b + 1].any()) or a == 0 or b == ink.shape[1] - 1:
            ink[:, a : b + 1] = False
    ink = ink[look:-look]
    r_base += look
    lo = int(np.clip(round(left) - x0, 0, ink.shape[1] - 1))  # the detected span, band columns
    hi = int(np.clip(round(right) - x0, lo + 1, ink.shape[1]))
    mid = (top + bottom) / 2 - r_base
    # horizontal rules and underlines: ink running unbroken along a row for longer than any stroke
    run = max(round(RULE_MIN * k), int(RULE_LENGTH * height))
    ink_u8 = ink.astype(np.uint8)
    ink &= ~cv2.morphologyEx(ink_u8, cv2.MORPH_OPEN, np.ones((1, run), np.uint8), **_PAPER).astype(bool)
    ink &= ~_dashed_rules(ink, height)

    def row_range(c0: int, c1: int) -> tuple[int, int] | None:
        """Rows of the line's ink: runs reaching into the middle half of the detection (a bold
        character can have a gap of 3 rows, as wide as the gap to the next line), else the nearest."""
        runs = _runs(ink[:, c0:c1].any(1), round(ROW_GAP * k))
        if not runs:
            return None
        core = [r for r in runs if r[1] >= mid - height / 4 and r[0] <= mid + height / 4]
        return (core[0][0], core[-1][1]) if core else _nearest_run(runs, mid)

    rr = row_range(lo, max(hi, lo + 1))
    if rr is None:  # ink nearby but none inside the detection: nothing to read there
        return []
    cols = ink[rr[0] : rr[1] + 1].any(0)
    out = []
    for a, b in _runs(cols, int(split_gap(height, k))):
        if min(b + 1, hi) - max(a, lo) < min(MIN_OVERLAP * k, 0.5 * (b - a + 1)):  # a neighbour
            continue
        # outside the detection, only ink close to the line's own (letters it missed) extends it;
        # a rule or stray ink 15-25 px beyond the end does not
        pieces = _runs(cols[a : b + 1], int(EXTEND_GAP * height))
        near_runs = [(c, d) for c, d in pieces if d + a >= lo and c + a < hi]
        if near_runs:
            a, b = a + near_runs[0][0], a + near_runs[-1][1]
        r = row_range(a, b + 1)
        if r is not None and r[1] + 1 - r[0] >= min_ink and b + 1 - a >= MIN_WIDTH:
            out.append(_quad(a + x0, b + x0 + 1, r[0] + r_base, r[1] + r_base + 1, slope, left))
    return out


def _dashed_rules(ink: np.ndarray, height: float) -> np.ndarray:
    """Ink of dashed and dotted rules (------, ......): marks no taller than a stroke, in a row whose
    gaps close into one run at least DASHED_LENGTH line heights long. Receipts print them a pixel or
    two above and below the text, where they joined the line and were read as a row of T or _."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    thin = stats[:, cv2.CC_STAT_HEIGHT] <= max(2.0, DASHED_THICK * height)
    thin[0] = False  # the background
    marks = thin[labels].astype(np.uint8)
    gap, length = (max(3, round(f * height)) | 1 for f in (DASHED_GAP, DASHED_LENGTH))  # odd: centred
    closed = cv2.morphologyEx(marks, cv2.MORPH_CLOSE, np.ones((1, gap), np.uint8), **_PAPER)
    rules = cv2.morphologyEx(closed, cv2.MORPH_OPEN, np.ones((1, length), np.uint8), **_PAPER)
    # whole marks: a scanned rule's dashes wander a pixel up and down, and what the one row found
    # of a dash is not all of it
    hit = np.unique(labels[(rules > 0) & (marks > 0)])
    return np.isin(labels, hit[hit > 0])


def refine_quads(image: np.ndarray, quads: list[np.ndarray], scale: float = 1.0) -> list[np.ndarray]:
    """All detected quads of a page fitted to its ink (a quad may split in two); `scale` is the one
    the detector saw the page at.

    Linear in the number of quads apart from one vectorised IoU row per quad: a page of a thousand
    detections used to spend 24 s in pairwise Python IoU calls (issue 13).
    """
    if not quads:
        return []  # a blank page: no greyscale copy of it either
    gray = to_gray(image)
    out: list[np.ndarray] = []
    bounds = np.empty((2 * len(quads), 4), dtype=np.float64)  # a quad splits into at most two
    for q in quads:
        for r in refine_quad(gray, q, 1.0 / scale):
            box = (r[:, 0].min(), r[:, 1].min(), r[:, 0].max(), r[:, 1].max())
            if len(out) >= len(bounds):
                bounds = np.concatenate([bounds, np.empty_like(bounds)])
            if not (_iou_row(box, bounds[: len(out)]) > DUPLICATE_IOU).any():
                bounds[len(out)] = box
                out.append(r)
    return out


def _iou_row(box: tuple[float, float, float, float], kept: np.ndarray) -> np.ndarray:
    """`_box_iou` of one box against many (rows of x0, y0, x1, y1), in one numpy expression."""
    if len(kept) == 0:
        return np.zeros(0)
    ax0, ay0, ax1, ay1 = box
    iw = np.minimum(ax1, kept[:, 2]) - np.maximum(ax0, kept[:, 0])
    ih = np.minimum(ay1, kept[:, 3]) - np.maximum(ay0, kept[:, 1])
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    union = (ax1 - ax0) * (ay1 - ay0) + (kept[:, 2] - kept[:, 0]) * (kept[:, 3] - kept[:, 1]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inter > 0, inter / union, 0.0)


def _box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of the axis-aligned bounds of two quads (enough to spot duplicates)."""
    ax0, ay0, ax1, ay1 = a[:, 0].min(), a[:, 1].min(), a[:, 0].max(), a[:, 1].max()
    bx0, by0, bx1, by1 = b[:, 0].min(), b[:, 1].min(), b[:, 0].max(), b[:, 1].max()
    iw, ih = min(ax1, bx1) - max(ax0, bx0), min(ay1, by1) - max(ay0, by0)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return float(inter / ((ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter))
