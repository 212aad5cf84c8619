"""Resize and pad a page for the detector (the model needs H and W multiples of 16).

The detector was trained on text whose ink is about 10-50 px tall (14-40 px fonts, crops rescaled by
0.8-1.25). Text far outside that range (a 150 px sign, 8 px print) is scaled into it first: the size
of the text is estimated from the image itself (`ink_height`), so a user never has to resize.
"""

import cv2
import numpy as np

MAX_SIDE = 1600  # the detector's input has no longer side than this, but for SMALL_INK below
MIN_HEIGHT = 64
# Ink heights (px, after the MAX_SIDE fit) that the detector reads as they are; text outside this band
# is scaled to TARGET_INK_PX. Ordinary pages (body text of 14-28 px lines) are not resampled. The
# upper end is 28, not the 48 px of the largest training lines: the three sample pages enlarged 2x
# and 3x were found at detection F1 0.95 as they were and at 1.00 brought to 24 px (unchanged on 80
# real receipts of sroie/train and on our own and held-out sets).
INK_BAND = (9.0, 28.0)
TARGET_INK_PX = 24.0
MIN_GLYPHS = 3  # fewer ink components than this: no estimate, keep the plain scale
CROP_GLYPHS = 4  # an image no taller than 4 of its glyphs may be a crop whose glyphs touch its edge
# A large scan (a receipt on an A4 flatbed at 600 dpi: 7016 x 4961 px) fitted to MAX_SIDE keeps its
# text at 9-16 px of ink, blurred by the shrink: the detector gets up to 1.5x that size instead
# (MAX_SIDE_SMALL_TEXT on the longer side), text brought towards TARGET_INK_PX. On the 49 such scans
# of sroie/train (never dev): page CER 10.66% -> 9.25%, detection F1 0.873 -> 0.892, for 32% more
# engine time on those pages; 1.25x read as well (9.29%), 1.75x and 2x worse (9.67%, 10.09%).
SMALL_INK = 16.0
MAX_SIDE_SMALL_TEXT = 2400


def ink_height(gray: np.ndarray) -> float | None:
    """Median height (px) of the dark connected components of a greyscale page, or None.

    Ink is what Otsu's threshold puts on the dark side. Components that cannot be glyphs are left
    out: specks, dots and dashes (under 5 px tall or 12 px of area: receipts are full of dashed
    rules), rules and frames (more than 8x wider than tall, or taller than the page's 95%).

    Components that touch the image's edge count only in a line crop cut tight: where fewer than
    MIN_GLYPHS lie inside the image, and it is at most CROP_GLYPHS of them tall (and then not the
    slivers more than 8x taller than wide). The edge is where the dark surround of a scanned or
    photographed page lies, and its torn or curled rim breaks into such slivers and blobs, hundreds
    of px tall. On a thermal receipt whose faint print Otsu leaves on the paper's side, they were all
    the "text" there was, and the page was shrunk 26-fold (sroie_415); such a page is now unmeasured
    (None) and read at its plain scale.

    Latin letters have no descenders in this count, so the figure is a little under the line height;
    the band it is compared with is wide.
    """
    if gray.size == 0 or int(gray.max()) - int(gray.min()) < 32:
        return None
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    counted = _inside(stats, ink.shape)
    height = _median_glyph_height(stats[counted], ink.shape[0])
    if height is None:  # a line crop cut tight, or a page of nothing but its surround
        counted = stats[:, cv2.CC_STAT_HEIGHT] <= 8 * stats[:, cv2.CC_STAT_WIDTH]
        counted[0] = False  # the background
        height = _median_glyph_height(stats[counted], ink.shape[0])
        if height is not None and ink.shape[0] > CROP_GLYPHS * height:
            return None  # not a crop: the edge's ink is a surround's, and the text unmeasured
    if height is None or INK_BAND[0] <= height <= INK_BAND[1]:
        return height
    # Outside the band, join the pieces of each glyph and count again: a third of the estimate for
    # large strokes; 3 px for small text, where broken thermal print and speckle also break glyphs
    # into dots (such a page must not be taken for tiny text). Neighbouring glyphs may join too,
    # which changes no height, so one component is enough here. Only the components counted above
    # are joined, with paper around the page, so the closing cannot join ink to the image's edge.
    k = int(height / 3) | 1 if height > INK_BAND[1] else 3
    kept = np.where(counted[labels], ink, 0).astype(np.uint8)
    padded = cv2.copyMakeBorder(kept, k, k, k, k, cv2.BORDER_CONSTANT, value=0)
    joined = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    _, _, joined_stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    return max(height, _median_glyph_height(joined_stats[1:], ink.shape[0], min_count=1) or 0.0)


def _inside(stats: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Per label of `cv2.connectedComponentsWithStats`: a component whose box touches no edge of the
    image (never the background, label 0)."""
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    right, bottom = x + stats[:, cv2.CC_STAT_WIDTH], y + stats[:, cv2.CC_STAT_HEIGHT]
    inside = (x > 0) & (y > 0) & (right < shape[1]) & (bottom < shape[0])
    inside[0] = False
    return inside


def _median_glyph_height(stats: np.ndarray, page_h: int, min_count: int = MIN_GLYPHS) -> float | None:
    """Median height of the components (rows of connectedComponentsWithStats) that may be glyphs."""
    w, h, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    glyph = (h >= 5) & (area >= 12) & (w <= 8 * h) & (h <= 0.95 * page_h)
    if int(glyph.sum()) < min_count:
        return None
    return float(np.median(h[glyph]))


def resize(image: np.ndarray, scale: float) -> np.ndarray:
    """`image` scaled by `scale` (area averaging when shrinking); the same array when scale is 1."""
    if scale == 1.0:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def scale_for(image_rgb: np.ndarray) -> float:
    """The detector's scale for a page: fit MAX_SIDE, then bring text outside INK_BAND to TARGET_INK_PX.

    Never above MAX_SIDE on the longer side, or MAX_SIDE_SMALL_TEXT where the fit shrank the page
    and left its text under SMALL_INK. An image too small to measure (fewer than MIN_GLYPHS ink
    components) and under MIN_HEIGHT px tall is enlarged to MIN_HEIGHT, as before text sizes were
    measured; `prepare` pads every image to at least MIN_HEIGHT, so a line crop keeps its size.
    """
    h, w = image_rgb.shape[:2]
    fit = MAX_SIDE / max(h, w)
    scale = min(1.0, fit)
    small = resize(image_rgb, scale)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY) if small.ndim == 3 else small
    ink = ink_height(gray)
    if ink is None:
        return min(MIN_HEIGHT / h, fit) if h < MIN_HEIGHT else scale
    large_scan = fit < 1.0 and ink < SMALL_INK  # small text that the fit shrank further
    if large_scan or not INK_BAND[0] <= ink <= INK_BAND[1]:
        limit = min(MAX_SIDE_SMALL_TEXT / max(h, w), 1.0) if large_scan else fit
        scale = min(scale * TARGET_INK_PX / ink, limit)
    return scale


def prepare(image_rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """RGB uint8 HxWx3 -> (uint8 [H', W', 3] padded with white to multiples of 16, scale applied)."""
    scale = scale_for(image_rgb)
    img = resize(image_rgb, scale)
    ph, pw = -(-max(img.shape[0], MIN_HEIGHT) // 16) * 16, -(-img.shape[1] // 16) * 16
    out = np.full((ph, pw, 3), 255, dtype=np.uint8)
    out[: img.shape[0], : img.shape[1]] = img
    return out, scale
