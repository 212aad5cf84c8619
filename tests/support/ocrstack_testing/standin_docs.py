"""A small stand-in document renderer: a test double for the detector's tests (simple pages with
exact ground truth, no synth package needed); training and evaluation use `ocr_synth.documents`.
Lines are words in Latin fonts found on the system, some rows split into table cells by wide gaps;
quads are the tight boxes around each line's ink.
"""

import glob
import os
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "invoice") + (
    "total",
    "amount",
    "date",
    "2024",
    "No.",
    "17",
    "price",
    "EUR",
)
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", os.path.expanduser("~/.fonts"))


@dataclass
class Line:
    text: str
    quad: np.ndarray  # float32 (4, 2), clockwise from top-left


@dataclass
class Document:
    image: np.ndarray
    lines: list[Line]


def find_fonts() -> list[str]:
    paths = []
    for d in FONT_DIRS:
        paths += glob.glob(os.path.join(d, "**", "*.ttf"), recursive=True)
    latin = [p for p in paths if any(k in os.path.basename(p) for k in ("DejaVu", "Liberation"))]
    return sorted(latin or paths)


def _ink_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def render_document(rng: np.random.Generator, width: int = 800, height: int = 1000, degrade: bool = False):
    """A page of text lines and table rows with tight ground-truth quads."""
    fonts = find_fonts()
    page = Image.new("L", (width, height), 255)
    lines: list[Line] = []
    y = int(rng.integers(20, 60))
    while True:
        size = int(rng.integers(14, 36))
        font = ImageFont.truetype(fonts[int(rng.integers(len(fonts)))], size)
        if y + size * 1.6 > height - 20:
            break
        x = int(rng.integers(20, 120))
        cells = [" ".join(rng.choice(WORDS, int(rng.integers(1, 6))))]
        if rng.random() < 0.3:  # a table row: short cells separated by wide gaps
            n_cells = int(rng.integers(2, 5))
            cells = [str(rng.choice(WORDS))[: int(rng.integers(1, 6))] for _ in range(n_cells)]
        for text in cells:
            layer = Image.new("L", (width, height), 0)
            ImageDraw.Draw(layer).text((x, y), text, font=font, fill=255)
            mask = np.asarray(layer) > 100
            box = _ink_box(mask)
            if box is None or box[2] >= width - 10:
                break
            page.paste(0, mask=layer)
            x1, y1, x2, y2 = box
            quad = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float32)
            lines.append(Line(text, quad))
            x = x2 + int(rng.integers(60, 160))
        y += int(size * rng.uniform(1.5, 2.5))
    img = np.asarray(page)
    if degrade:
        img = cv2.GaussianBlur(img, (3, 3), float(rng.uniform(0.3, 1.2)))
        img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    return Document(np.repeat(img[..., None], 3, axis=2), lines)


def bars_folder(path):
    """A labelled folder (truth.json format) of one page with three dark text-like bars and their boxes:
    real pages, as far as the detectors' training is concerned, without any real scan."""
    import json

    path.mkdir()
    page = np.full((300, 400, 3), 255, np.uint8)
    truth = []
    for i, y in enumerate((40, 120, 200)):
        page[y : y + 24, 30 : 330 - 40 * i] = 30
        truth.append(
            {"text": f"LINE {i}", "box": [[30, y], [329 - 40 * i, y], [329 - 40 * i, y + 23], [30, y + 23]]}
        )
    cv2.imwrite(str(path / "p.png"), page)
    (path / "truth.json").write_text(json.dumps({"p.png": truth}), encoding="utf-8")
    return path
