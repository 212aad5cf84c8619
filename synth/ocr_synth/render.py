"""Shared drawing primitives: a text's ink mask, ink colours, fonts for a text, paper.

Ground truth comes from the rendered glyph mask, never from font metrics: the quad of a line is the
bounding box of the pixels whose coverage reaches INK_THRESHOLD, and fainter fringe pixels are
dropped from the drawing so that all drawn ink lies inside the quad.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ocr_synth import fonts

INK_THRESHOLD = 48  # glyph coverage (0..255) that counts as ink


@dataclass(frozen=True)
class InkMask:
    mask: np.ndarray  # uint8 HxW coverage, cropped to the ink
    dx: int  # ink left relative to the drawing origin (PIL text origin)
    dy: int  # ink top relative to the drawing origin

    @property
    def width(self) -> int:
        return int(self.mask.shape[1])

    @property
    def height(self) -> int:
        return int(self.mask.shape[0])


def is_ascii(text: str) -> bool:
    return all(ord(c) < 128 for c in text)


def ink_mask(text: str, spec: fonts.FontSpec, size: int, stroke: int = 0) -> InkMask | None:
    """Render text and crop to its ink; None if nothing reaches the ink threshold (e.g. spaces)."""
    font = fonts.load(spec, size)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    w, h = right - left + 4, bottom - top + 4
    if w <= 4 or h <= 4:
        return None
    im = Image.new("L", (w, h), 0)
    ImageDraw.Draw(im).text(
        (2 - left, 2 - top), text, font=font, fill=255, stroke_width=stroke, stroke_fill=255
    )
    return _crop_to_ink(np.asarray(im), dx=left - 2, dy=top - 2)


def _crop_to_ink(cov: np.ndarray, dx: int, dy: int) -> InkMask | None:
    """The coverage cropped to its ink, fringe under INK_THRESHOLD dropped; (dx, dy): cov's origin."""
    ink = cov >= INK_THRESHOLD
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return None
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    crop = np.where(ink[y0:y1, x0:x1], cov[y0:y1, x0:x1], 0).astype(np.uint8)
    return InkMask(crop, dx=dx + int(x0), dy=dy + int(y0))


# Glyph-shape variation of training lines, never of evaluation pages: a typeface the recogniser never
# saw differs from those it did in its letters' proportions and its strokes' weight. TW-Sung, the
# held-out Ming, has thinner strokes than the training Mings (its 将 read as 特, 费 as 亲), and
# its lines read better at 0.85x their width though its ink is as wide as theirs: the recogniser
# had learnt its faces' exact proportions (models/README.md, sitting of 2026-12-04 evening).
RESHAPE_ASPECT = (0.8, 1.25)  # the ink's width scale: condensed to extended designs
RESHAPE_WEIGHT_MIN_HEIGHT = 14  # px of ink: thinner lines' hairlines would vanish when thinned
_RESHAPE_OVERSAMPLE = 3  # a 3x3 min / max filter at 3x moves each stroke edge by 1/3 px


def reshape_ink(rng: np.random.Generator, m: InkMask) -> InkMask:
    """The same ink in a random width (RESHAPE_ASPECT) and, two times in three, another weight."""
    low, high = np.log(RESHAPE_ASPECT[0]), np.log(RESHAPE_ASPECT[1])
    scale = float(np.exp(rng.uniform(low, high)))
    weight = int(rng.integers(-1, 2))
    if m.height < RESHAPE_WEIGHT_MIN_HEIGHT:
        weight = max(weight, 0)
    return restyle_ink(m, scale, weight)


def restyle_ink(m: InkMask, width_scale: float, weight: int) -> InkMask:
    """The ink `width_scale` times as wide, thinner (weight -1), as it was (0) or bolder (+1).

    The weight changes by a grey-level erosion or dilation of the coverage at 3x, brought back with
    an area average: each stroke loses or gains about 2/3 px, a light or a medium weight of the same
    design. Coverage under INK_THRESHOLD is dropped again, as in `ink_mask`.
    """
    width = max(1, round(m.width * width_scale))
    k = _RESHAPE_OVERSAMPLE
    big = Image.fromarray(m.mask).resize((width * k, m.height * k), Image.Resampling.BILINEAR)
    if weight < 0:
        big = big.filter(ImageFilter.MinFilter(3))
    elif weight > 0:
        big = big.filter(ImageFilter.MaxFilter(3))
    cov = np.asarray(big.resize((width, m.height), Image.Resampling.BOX))
    return _crop_to_ink(cov, m.dx, m.dy) or m


def composite(image: np.ndarray, m: InkMask, x: int, y: int, colour: np.ndarray) -> None:
    """Blend ink of `colour` into image in place, ink box top-left at (x, y)."""
    region = image[y : y + m.height, x : x + m.width]
    alpha = m.mask[..., None].astype(np.float32) * np.float32(1 / 255)
    region[...] = (region * (1 - alpha) + colour.astype(np.float32) * alpha + 0.5).astype(np.uint8)


def ink_colour(rng: np.random.Generator) -> np.ndarray:
    """Black, dark grey or dark blue."""
    kind = rng.random()
    if kind < 0.55:
        v = rng.integers(0, 40)
        return np.array([v, v, v], dtype=np.uint8)
    if kind < 0.8:
        v = rng.integers(40, 85)
        return np.array([v, v, v], dtype=np.uint8)
    return np.array([rng.integers(0, 40), rng.integers(20, 60), rng.integers(80, 140)], dtype=np.uint8)


def paper_colour(rng: np.random.Generator) -> np.ndarray:
    base = rng.uniform(228, 255)
    tint = rng.uniform(0, 14) * np.array([0.2, 0.5, 1.0])
    return np.clip(base - tint, 0, 255).astype(np.uint8)


def paper(rng: np.random.Generator, width: int, height: int, noise: float | None = None) -> np.ndarray:
    """Plain sheet with a faint grain."""
    colour = paper_colour(rng)
    sigma = float(rng.uniform(0.0, 4.0)) if noise is None else noise
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[...] = colour
    if sigma > 0.5:
        grain = rng.standard_normal((height, width, 1), dtype=np.float32) * np.float32(sigma)
        img = np.clip(img.astype(np.float32) + grain, 0, 255).astype(np.uint8)
    return img


def pick_font(rng: np.random.Generator, split: str, text: str, bold_p: float = 0.15) -> fonts.FontSpec:
    """A CJK font for any non-ASCII text; ASCII-only text may also get a Latin font.

    Only fonts with a glyph for every character of the text are candidates (`fonts.covers`).
    """
    specs = fonts.discover(split)
    pool = (
        [s for s in specs if s.cjk]
        if not is_ascii(text) or rng.random() < 0.4
        else [s for s in specs if not s.cjk]
    )
    pool = [s for s in pool if fonts.covers(s, text)] or pool
    want_bold = rng.random() < bold_p
    matching = [s for s in pool if s.bold == want_bold] or pool
    return matching[int(rng.integers(len(matching)))]
