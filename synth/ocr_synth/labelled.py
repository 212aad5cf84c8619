"""Labelled pages on disk: a folder of images and one `truth.json`, for evaluation and fine-tuning.

The format (the one `../shared/real/` uses, and the one a user labels their own documents in)::

    truth.json = {"<image file name>": [{"text": "TOTAL 12.50", "box": [[x, y] x 4]}, ...], ...}

one entry per labelled text segment, boxes as four corners clockwise from the top-left, in pixels of
the image as stored. A page read from such a folder looks like a generated `DocSample` to the code
that scores or trains on it (`image`, `lines[i].text`, `lines[i].quad`), so real and synthetic pages
go through the same evaluation and training code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

from ocr_synth.documents import GtLine

TRUTH_FILE = "truth.json"


class LabelledFolderError(ValueError):
    """A folder that is not in the truth.json format; the message says what to fix."""


@dataclass
class LabelledPage:
    path: Path
    lines: list[GtLine]

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def image(self) -> np.ndarray:
        """The page as uint8 RGB (read once, on first use)."""
        return self.read_rgb()

    def read_rgb(self) -> np.ndarray:
        """The page as uint8 RGB, read from disk now (for training, which must not keep every page)."""
        bgr = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise LabelledFolderError(f"{self.path}: not an image OpenCV can read")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def gray(self) -> np.ndarray:
        """The page as uint8 greyscale (what line crops are cut from), without keeping the RGB copy."""
        gray = cv2.imread(str(self.path), cv2.IMREAD_GRAYSCALE)
        if gray is None:
            raise LabelledFolderError(f"{self.path}: not an image OpenCV can read")
        return gray


def load_folder(folder: str | Path, limit: int | None = None) -> list[LabelledPage]:
    """The pages of a labelled folder in file-name order (the first `limit` of them)."""
    folder = Path(folder)
    truth_path = folder / TRUTH_FILE
    if not truth_path.is_file():
        raise LabelledFolderError(
            f"{folder} has no {TRUTH_FILE}: a labelled folder holds its images and one {TRUTH_FILE} "
            '({"image.jpg": [{"text": ..., "box": [[x, y] x4]}, ...]})'
        )
    try:
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabelledFolderError(f"{truth_path} is not UTF-8 JSON: {exc}") from exc
    if not isinstance(truth, dict):
        raise LabelledFolderError(f"{truth_path} must be an object mapping image names to lists of lines")
    pages = []
    for name in sorted(truth)[:limit]:
        path = folder / name
        if not path.is_file():
            raise LabelledFolderError(f"{truth_path} names {name!r}, which is not in {folder}")
        pages.append(LabelledPage(path, [_line(truth_path, name, i, e) for i, e in enumerate(truth[name])]))
    return pages


def _line(truth_path: Path, name: str, index: int, entry: object) -> GtLine:
    try:
        text = entry["text"]  # type: ignore[index]
        quad = np.asarray(entry["box"], dtype=np.float32)  # type: ignore[index]
    except (TypeError, KeyError, ValueError) as exc:
        raise LabelledFolderError(
            f"{truth_path}: {name} line {index} must be {{'text': str, 'box': [[x, y] x4]}} ({exc!r})"
        ) from exc
    if not isinstance(text, str) or quad.shape != (4, 2):
        raise LabelledFolderError(
            f"{truth_path}: {name} line {index} must have a text string and a box of four [x, y] corners"
        )
    return GtLine(text=text, quad=quad)
