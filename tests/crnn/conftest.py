"""Tiny digit lines drawn with OpenCV: enough for smoke tests that must not need ocr_synth."""

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
