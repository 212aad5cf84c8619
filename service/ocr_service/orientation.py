"""Page orientation (issue 14, item 2): which of 0/90/180/270 degrees turns a page upright.

The `orient` model (models/orient/1, trained by `ocr-orient train` on `ocr_synth` pages) classifies
square patches of a page; this module picks the patches and votes. The same `page_patches` makes
the training examples, so what the model learnt is what it is shown.

- The page is scaled so that its longer side is `LONG_SIDE` pixels (body text of 10-32 px on the
  pages we read lands at 8-25 px, glyph shapes still visible: 180 degrees, text upside down, is
  told from 0 by the glyphs alone), converted to grey and inverted (ink high).
- It is cut into `PATCH` x `PATCH` tiles; the `MAX_PATCHES` tiles with the most contrast (text,
  not margin) go to the model, one call per page.
- Each patch answers four probabilities, class k = the page as sent is the upright page turned
  k * 90 degrees counter-clockwise (`np.rot90(upright, k)`); the page's class is the sum of the
  patches' log-probabilities. A page is turned only when the vote is clear (`min_margin`), so an
  upright page the model hesitates on is read as sent.

`rotation` in an answer is the clockwise turn applied to the image as sent before reading it: class
k -> k * 90 degrees clockwise.

Per line, where it pays: a page turned upright can still hold a line printed the other way up (a
stamp, a label pasted upside down). The recogniser reads such a line as confident-sounding garbage
of low confidence (0.42 on a 28 px line of our test page, where its upright lines read at
0.97-1.00), so a line read with less than `LINE_RECHECK_BELOW` is read again turned 180 degrees, and
the turned reading is kept when its confidence is higher by `LINE_FLIP_MARGIN`. Lines read well (most
of them) cost nothing more.
"""

from __future__ import annotations

import cv2
import numpy as np

PATCH = 64
LONG_SIDE = 768
MAX_PATCHES = 24
MIN_CONTRAST = 12.0  # grey-level standard deviation below which a tile is blank paper
LINE_RECHECK_BELOW = 0.8  # a line read with less confidence is read again turned 180 degrees
LINE_FLIP_MARGIN = 0.2  # the turned reading must be this much more confident to be kept


def grey_page(rgb: np.ndarray, long_side: int = LONG_SIDE) -> np.ndarray:
    """The page in grey, ink high (255 - grey), scaled to `long_side` on its longer side."""
    gray = rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape[:2]
    scale = long_side / max(h, w)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return 255 - cv2.resize(gray, size, interpolation=interpolation)


def page_patches(rgb: np.ndarray, long_side: int = LONG_SIDE, max_patches: int = MAX_PATCHES) -> np.ndarray:
    """Up to `max_patches` tiles [N, PATCH, PATCH, 1] float32 in 0..1 (ink high), most contrast
    first; N = 0 for a blank page (nothing to vote on)."""
    ink = grey_page(rgb, long_side)
    h, w = ink.shape
    if h < PATCH or w < PATCH:
        ink = cv2.copyMakeBorder(
            ink, 0, max(0, PATCH - h), 0, max(0, PATCH - w), cv2.BORDER_CONSTANT, value=0
        )
        h, w = ink.shape
    rows, cols = h // PATCH, w // PATCH
    # centre the grid, so the margins left over are even on both sides
    y0, x0 = (h - rows * PATCH) // 2, (w - cols * PATCH) // 2
    tiles = (
        ink[y0 : y0 + rows * PATCH, x0 : x0 + cols * PATCH]
        .reshape(rows, PATCH, cols, PATCH)
        .transpose(0, 2, 1, 3)
        .reshape(rows * cols, PATCH, PATCH)
    )
    contrast = tiles.reshape(len(tiles), -1).std(axis=1)
    order = [i for i in np.argsort(-contrast, kind="stable") if contrast[i] >= MIN_CONTRAST][:max_patches]
    picked = tiles[order].astype(np.float32)
    # per-patch stretch: faint print and dark paper look alike to the model
    low = picked.reshape(len(picked), -1).min(axis=1)[:, None, None] if len(picked) else 0
    high = picked.reshape(len(picked), -1).max(axis=1)[:, None, None] if len(picked) else 1
    picked = (picked - low) / np.maximum(high - low, 1.0)
    return picked[..., None]


def vote(probabilities: np.ndarray, min_margin: float = 2.0) -> tuple[int, float]:
    """The page's class k (0..3) from the patches' probabilities [N, 4], and the vote's margin
    (log-probability sum of the winner over the runner-up). k = 0 unless the margin is at least
    `min_margin`."""
    if len(probabilities) == 0:
        return 0, 0.0
    scores = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-6, 1.0)).sum(axis=0)
    ranked = np.argsort(-scores)
    margin = float(scores[ranked[0]] - scores[ranked[1]])
    best = int(ranked[0])
    if best != 0 and float(scores[best] - scores[0]) < min_margin:
        return 0, margin
    return best, margin


def upright(rgb: np.ndarray, k: int) -> np.ndarray:
    """The page turned upright: class k means it was sent turned k quarter turns counter-clockwise."""
    return np.ascontiguousarray(np.rot90(rgb, -k)) if k else rgb


def quad_to_sent(quad: np.ndarray, k: int, sent_width: int, sent_height: int) -> np.ndarray:
    """Corners found on the upright page, in the coordinates of the image as sent (class k).

    The corner order is kept (it starts at the text's own top-left and goes clockwise; a rotation
    keeps clockwise clockwise)."""
    quad = np.asarray(quad, dtype=np.float32)
    if k == 0:
        return quad
    x, y = quad[:, 0], quad[:, 1]
    # np.rot90(upright, k) turns counter-clockwise; undo it point by point
    if k == 1:  # sent = upright turned 90 ccw: upright (x, y) -> sent (y, W_up - x), W_up = sent_height
        out = np.stack([y, sent_height - x], axis=1)
    elif k == 2:
        out = np.stack([sent_width - x, sent_height - y], axis=1)
    else:  # k == 3: upright (x, y) -> sent (H_up - y, x), H_up = sent_width
        out = np.stack([sent_width - y, x], axis=1)
    return out.astype(np.float32)
