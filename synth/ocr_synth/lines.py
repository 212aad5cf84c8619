"""Single text-line strips for the recognizer (CRNN)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ocr_synth import degrade as _degrade
from ocr_synth import fonts, render
from ocr_synth.content import TextSource

MAX_WIDTH = 1200  # widest strip, margins included
SIZE_RANGE = (14, 48)  # font px; pages use 14-40, and small text is what scans blur most
# share of training lines drawn at the sizes of a page's body text, where most of a page's lines
# are and thin strokes blur most when a line is enlarged to the recogniser's height (generated
# pages draw body text at 14-32 px, mostly 14-24); the rest over SIZE_RANGE
BODY_SIZE_SHARE = 0.5
BODY_SIZE_RANGE = (14, 24)
MARGIN_RANGE = (4, 24)
# share of training lines drawn in a face that lacks part of the level-1 hanzi (cwTeX Ming and
# FangSong: `fonts.TRAIN_CJK_SPARSE`), on a generated text with hanzi that it covers: without it,
# such a face is a candidate only for the few texts it happens to cover, among twenty others
SPARSE_SHARE = 0.1
SPARSE_TRIES = 40  # generated texts tried for a sparse face (about 1 in 8 is covered and has hanzi)
STAMP_SHARE = 0.15  # degraded lines with part of a red seal over them
MIN_INK_HEIGHT = 8  # generated texts thinner than this (e.g. "-..-") are drawn again


@dataclass
class LineSample:
    image: np.ndarray  # uint8 HxWx3 RGB
    text: str
    quad: np.ndarray  # float32 (4, 2), pixel-edge coords, clockwise from top-left, tight around the ink


def _fit(text: str, spec, size: int, budget: int) -> render.InkMask | None:
    """The mask at `size`, shrunk until it fits the width budget (None if it never does)."""
    while True:
        m = render.ink_mask(text, spec, size)
        if m is None or m.width <= budget:
            return m
        new = int(size * budget / m.width)
        if new < 10:
            return None
        size = min(new, size - 1)


def render_line(
    rng: np.random.Generator,
    split: str = "train",
    text: str | None = None,
    degrade: bool = True,
    mild: bool = True,
    stamps: bool = True,
    reshape: bool = False,
) -> LineSample:
    """One line on a paper strip with 4-24 px margins around the ink (after any rotation).

    mild=False degrades the strip as hard as a degraded page (`degrade.apply`'s full settings);
    stamps=False never puts a seal over it (STAMP_SHARE of degraded lines get one otherwise);
    reshape=True draws the ink in another width and weight (`render.reshape_ink`).
    """
    source = TextSource(rng)
    margins = rng.integers(MARGIN_RANGE[0], MARGIN_RANGE[1] + 1, 4)  # left, top, right, bottom
    budget = MAX_WIDTH - int(margins[0] + margins[2]) - 2
    sparse = fonts.sparse(split) if text is None and split == "train" else []
    for _ in range(20):
        if sparse and rng.random() < SPARSE_SHARE:
            spec = sparse[int(rng.integers(len(sparse)))]
            texts = (source.line() for _ in range(SPARSE_TRIES))
            line = next((t for t in texts if not render.is_ascii(t) and fonts.covers(spec, t)), "")
            if not line:
                continue
        else:
            line = text if text is not None else source.line()
            spec = render.pick_font(rng, split, line)
        low, high = BODY_SIZE_RANGE if split == "train" and rng.random() < BODY_SIZE_SHARE else SIZE_RANGE
        size = int(rng.integers(low, high + 1))
        m = _fit(line, spec, size, budget)
        if text is not None:
            if m is None:
                raise ValueError(f"text {text!r} renders no ink or cannot fit {MAX_WIDTH} px")
            break
        if m is not None and m.height >= MIN_INK_HEIGHT:
            break
    else:
        raise RuntimeError("could not draw a legible line in 20 tries")
    line = " ".join(line.split()) if text is None else text
    if reshape:
        m = render.reshape_ink(rng, m)

    # room for a +-2 degree rotation, then crop back to the wanted margins around the moved quad
    slack = math.ceil(m.width * math.sin(math.radians(_degrade.MAX_ANGLE_DEG)) / 2) + 2 if degrade else 0
    left, top = int(margins[0]) + slack, int(margins[1]) + slack
    w = left + m.width + int(margins[2]) + slack
    h = top + m.height + int(margins[3]) + slack
    image = render.paper(rng, w, h)
    render.composite(image, m, left, top, render.ink_colour(rng))
    quad = np.array(
        [[left, top], [left + m.width, top], [left + m.width, top + m.height], [left, top + m.height]],
        np.float32,
    )
    if not degrade:
        return LineSample(image=image, text=line, quad=quad)

    if rng.random() < 0.25:
        _cell_border(rng, image, (left, top, left + m.width, top + m.height), margins)
    if rng.random() < STAMP_SHARE and stamps:  # a seal over the line, as on invoices and receipts
        r = float(rng.uniform(40, 75))
        cx = float(rng.uniform(left, left + m.width))
        cy = top + m.height / 2 + float(rng.uniform(-1.1, 1.1)) * r
        _degrade.stamp(rng, image, cx, cy, r)
    image, (quad,) = _degrade.apply(rng, image, [quad], mild=mild)
    x0 = max(0, math.floor(float(quad[:, 0].min())) - int(margins[0]))
    y0 = max(0, math.floor(float(quad[:, 1].min())) - int(margins[1]))
    x1 = min(w, math.ceil(float(quad[:, 0].max())) + int(margins[2]))
    y1 = min(h, math.ceil(float(quad[:, 1].max())) + int(margins[3]))
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    return LineSample(image=crop, text=line, quad=(quad - np.array([x0, y0], np.float32)).astype(np.float32))


def _cell_border(
    rng: np.random.Generator, image: np.ndarray, ink: tuple[int, int, int, int], margins
) -> None:
    """A table rule in one margin (>= 2 px from the ink), as in crops of table cells from a page."""
    side = int(rng.integers(4))
    thick = int(rng.integers(1, 3))
    grey = int(rng.integers(30, 140))
    room = int(margins[side])
    if room < 4:
        return
    gap = int(rng.integers(2, room - 1))
    x0, y0, x1, y1 = ink
    if side == 0:
        image[:, max(0, x0 - gap - thick) : x0 - gap] = grey
    elif side == 1:
        image[max(0, y0 - gap - thick) : y0 - gap, :] = grey
    elif side == 2:
        image[:, x1 + gap : x1 + gap + thick] = grey
    else:
        image[y1 + gap : y1 + gap + thick, :] = grey
