"""Line cropping shared by training and the serving pipeline (keep it deterministic and cheap)."""

from __future__ import annotations

import cv2
import numpy as np

HEIGHT = 32
MAX_WIDTH = 1600
WIDTH_MULTIPLE = 8
PAD_VALUE = 255
# Contrast stretch of every crop: these percentiles of its pixels become black and white.
INK_PERCENTILE, PAPER_PERCENTILE = 1.0, 95.0
MIN_CONTRAST = 20  # a crop with less spread (blank paper, a solid bar) is left as it is


def _to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2GRAY)
    raise ValueError(f"expected HxW or HxWx{{1,3,4}} image, got shape {image.shape}")


def stretch_contrast(crop: np.ndarray) -> np.ndarray:
    """Map the crop's ink (1st percentile) to black and its paper (95th) to white.

    Scanned pages arrive grey, tinted, unevenly lit and blurred; the recogniser reads a stretched
    crop much better (measured on degraded pages: normalised CER 7.3% -> 2.8% with the same weights).
    """
    lo, hi = np.percentile(crop, (INK_PERCENTILE, PAPER_PERCENTILE))
    if hi - lo < MIN_CONTRAST:
        return crop
    lut = np.clip((np.arange(256, dtype=np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
    return lut[crop]


def line_geometry(
    quad: np.ndarray, height: int = HEIGHT, pad_ratio: float = 0.1
) -> tuple[float, float, float, float]:
    """(width, height, margin, scale) of a quad's crop: the line's own size in image pixels, the
    margin on every side, and image-to-crop scale. The line starts `margin * scale` crop pixels from
    the crop's left edge and spans `width * scale` (how `crop_line` lays it out)."""
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    tl, tr, br, bl = q
    w = max(0.5 * (np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)), 1.0)
    h = max(0.5 * (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)), 1.0)
    pad = pad_ratio * h
    return w, h, pad, height / (h + 2 * pad)


def crop_line(
    image: np.ndarray,
    quad: np.ndarray,
    height: int = HEIGHT,
    pad_ratio: float = 0.1,
    stretch: bool = True,
) -> np.ndarray:
    """Warp a text-line quad to a grayscale strip of fixed height, keeping the aspect ratio.

    ``quad`` is 4 (x, y) points clockwise from top-left. The line's own height is mapped to
    ``height / (1 + 2 * pad_ratio)`` pixels with ``pad_ratio * line height`` of margin on every side,
    so a box that is a little too tight (as detections often are) still keeps the ink.
    Pixels outside the image replicate the border. ``stretch``: `stretch_contrast` the result
    (training and serving both do).
    """
    gray = _to_gray(np.asarray(image))
    if gray.dtype != np.uint8:
        raise ValueError(f"expected uint8 image, got {gray.dtype}")
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    w, h, pad, scale = line_geometry(q, height, pad_ratio)
    out_w = max(1, int(round((w + 2 * pad) * scale)))

    # Large text: shrink with INTER_AREA first so the perspective warp (bilinear) does not alias.
    if scale < 0.5:
        x0, y0 = np.floor(q.min(axis=0) - pad - 2).astype(int)
        x1, y1 = np.ceil(q.max(axis=0) + pad + 2).astype(int)
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, gray.shape[1]), min(y1, gray.shape[0])
        if x1 > x0 and y1 > y0:
            f = 2.0 * scale
            sub = gray[y0:y1, x0:x1]
            sw, sh = max(1, int(round(sub.shape[1] * f))), max(1, int(round(sub.shape[0] * f)))
            gray = cv2.resize(sub, (sw, sh), interpolation=cv2.INTER_AREA)
            q = (q - [x0, y0]) * [sw / sub.shape[1], sh / sub.shape[0]]

    p = pad * scale
    dst = np.array(
        [[p, p], [p + w * scale, p], [p + w * scale, p + h * scale], [p, p + h * scale]],
        dtype=np.float32,
    )
    m = cv2.getPerspectiveTransform(q.astype(np.float32), dst)
    crop = cv2.warpPerspective(
        gray, m, (out_w, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return stretch_contrast(crop) if stretch else crop


def fit_width(crop: np.ndarray, max_width: int) -> np.ndarray:
    """Squeeze a crop horizontally if it is wider than ``max_width`` (keeps the height)."""
    if crop.shape[1] <= max_width:
        return crop
    return cv2.resize(crop, (max_width, crop.shape[0]), interpolation=cv2.INTER_AREA)


# The conv stack's receptive field is ~34 px wide: 16 px of white beyond a crop's right edge keep
# its last time steps from seeing the convolutions' zero padding.
RIGHT_MARGIN = 16


def batch_crops(
    crops: list[np.ndarray],
    max_width: int = MAX_WIDTH,
    multiple: int = WIDTH_MULTIPLE,
) -> tuple[np.ndarray, np.ndarray]:
    """Stack crops left-aligned into uint8 [N, H, Wmax, 1] padded with 255, plus int32 widths.

    Wmax is the widest crop plus RIGHT_MARGIN, rounded up to ``multiple`` so the model's width/4
    sequence length is exact; crops wider than ``max_width`` are resized down to it. The margin
    gives every crop white paper to its right, so its last characters read the same alone or
    beside a wider crop (the LSTMs skip the padded steps; the convolutions see past the edge).
    """
    if not crops:
        return np.zeros((0, HEIGHT, multiple, 1), np.uint8), np.zeros((0,), np.int32)
    crops = [fit_width(c, max_width) for c in crops]
    height = crops[0].shape[0]
    widths = np.array([c.shape[1] for c in crops], dtype=np.int32)
    wmax = int(-(-(int(widths.max()) + RIGHT_MARGIN) // multiple) * multiple)
    out = np.full((len(crops), height, wmax, 1), PAD_VALUE, dtype=np.uint8)
    for i, c in enumerate(crops):
        if c.shape[0] != height:
            raise ValueError("all crops must have the same height")
        out[i, :, : c.shape[1], 0] = c
    return out, widths


# What one recogniser call costs, in padded crop columns (measured 2026-12-03 with models/crnn/1 on
# the 2-core development CPU: ~5 ms per call, ~0.05 ms per time step whatever the batch, ~0.016 ms
# per line and column): a call is worth ~330 columns, each column of the widest crop ~3 more on
# top of one per line. Only the ratios matter; they decide how finely lines are grouped by width.
CALL_COST_COLUMNS = 330.0
STEP_COST_COLUMNS = 3.0


def width_groups(
    widths: list[int] | np.ndarray, max_batch: int, max_width: int = MAX_WIDTH
) -> list[list[int]]:
    """Indexes of crops grouped into recogniser calls of similar width, at most ``max_batch`` each.

    A call pads every crop to its widest (`batch_crops`), and a receipt's lines run from a few
    characters to the full page: in one call three quarters of the work was padding. Sorted by
    width, the crops are cut into the groups that minimise the modelled cost
    CALL_COST + Wmax * (STEP_COST + n) of all calls (exact, by dynamic programming over the cuts).
    Every crop reads the same in any group (the LSTMs skip padded steps, see `batch_crops`).
    """
    widths = np.minimum(np.asarray(widths, dtype=np.float64), max_width) + RIGHT_MARGIN
    order = np.argsort(widths, kind="stable")
    ordered = widths[order]
    n = len(ordered)
    best = np.zeros(n + 1)
    cut = np.zeros(n + 1, dtype=np.int64)
    for end in range(1, n + 1):
        starts = np.arange(max(0, end - max_batch), end)
        costs = best[starts] + CALL_COST_COLUMNS + ordered[end - 1] * (STEP_COST_COLUMNS + (end - starts))
        pick = int(np.argmin(costs))
        best[end], cut[end] = costs[pick], starts[pick]
    groups: list[list[int]] = []
    end = n
    while end > 0:
        groups.append([int(i) for i in order[cut[end] : end]])
        end = int(cut[end])
    return groups[::-1]
