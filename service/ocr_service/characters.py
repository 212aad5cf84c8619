"""Per-character confidences and boxes (`/v1/ocr` option `characters`), from the recogniser's
`char_columns` and `char_confidence` outputs (crnn.decode.char_positions, exported by crnn.export).

Each character is emitted at one time step of the greedy CTC path; `char_columns` is the centre of
that step in pixel columns of the crop (the model's stride applied in the graph). It goes back to
the line through the crop's layout (`crnn.preprocess.line_geometry`: margin, scale, and the squeeze
of crops wider than the batch limit), as a fraction of the line's length. A character spans from
halfway to its left neighbour to halfway to its right one (the first and last: the median spacing),
and its box is that slice of the line's quad: corners on the top and bottom edges, clockwise from
top-left, in pixels of the image. CTC places a character where it is recognised, not at its ink's
exact edges: the boxes are good to a fraction of a character, as in other CTC readers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from crnn.preprocess import line_geometry


@dataclass
class Char:
    char: str
    confidence: float
    box: list[list[float]]


def char_boxes(
    quad: np.ndarray,
    text: str,
    columns: np.ndarray,
    probs: np.ndarray,
    crop_width: int,
    model_width: int,
) -> list[Char] | None:
    """The characters of one line, or None when the columns do not match the text one to one."""
    keep = np.asarray(columns) >= 0
    columns, probs = np.asarray(columns)[keep].astype(np.float64), np.asarray(probs)[keep]
    if len(columns) != len(text) or not len(text):
        return None
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    width, _, pad, scale = line_geometry(q)
    squeeze = model_width / crop_width if crop_width else 1.0  # batch_crops' fit_width
    centres = (columns / squeeze - pad * scale) / (width * scale)
    spacing = float(np.median(np.diff(centres))) if len(centres) > 1 else 1.0
    middles = (centres[1:] + centres[:-1]) / 2
    bounds = np.clip(np.concatenate([[centres[0] - spacing / 2], middles, [centres[-1] + spacing / 2]]), 0, 1)
    tl, tr, br, bl = q
    out = []
    for k, char in enumerate(text):
        u0, u1 = bounds[k], bounds[k + 1]
        corners = [tl + u0 * (tr - tl), tl + u1 * (tr - tl), bl + u1 * (br - bl), bl + u0 * (br - bl)]
        box = [[round(float(x), 1), round(float(y), 1)] for x, y in corners]
        out.append(Char(char, round(float(probs[k]), 4), box))
    return out
