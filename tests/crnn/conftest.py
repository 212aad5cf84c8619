"""Tiny digit lines drawn with OpenCV: enough for smoke tests that must not need ocr_synth."""

import json

import cv2
import numpy as np
import pytest
from crnn.charset import load
from crnn.data import Sample

DIGITS = "0123456789"


def digit_samples(rng: np.random.Generator, n: int) -> list[Sample]:
    cs = load()
    out = []
    for _ in range(n):
        text = "".join(rng.choice(list(DIGITS), size=int(rng.integers(2, 6))))
        img = np.full((32, 24 * len(text) + 8), 255, np.uint8)
        cv2.putText(img, text, (4, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
        out.append(Sample(img, np.asarray(cs.encode(text), np.int32)))
    return out


@pytest.fixture
def make_digit_samples():
    return digit_samples


@pytest.fixture
def receipt_folder(tmp_path):
    """One 'scanned' page with two printed lines and one whose text the charset lacks."""
    page = np.full((120, 400, 3), 235, np.uint8)
    cv2.putText(page, "TOTAL 12.50", (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (20, 20, 20), 2)
    cv2.putText(page, "CASH", (10, 95), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (20, 20, 20), 2)
    cv2.imwrite(str(tmp_path / "r.png"), page)
    truth = {"r.png": [
        {"text": "TOTAL  12.50", "box": [[6, 12], [230, 12], [230, 48], [6, 48]]},
        {"text": "CASH", "box": [[6, 66], [100, 66], [100, 102], [6, 102]]},
        {"text": "\u0b85", "box": [[300, 66], [330, 66], [330, 102], [300, 102]]},  # Tamil: not in charset
    ]}  # fmt: skip
    (tmp_path / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    return tmp_path
