"""What counts as ink in a rendered image, shared by the line and document tests."""

import cv2
import numpy as np
import pytest


def _darkness(image: np.ndarray) -> np.ndarray:
    """How much darker than the paper each pixel is (paper = the image's median grey)."""
    grey = image.astype(np.float32).mean(axis=2)
    return np.float32(np.median(grey)) - grey


def _quad_mask(shape: tuple[int, int], quad: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(np.asarray(quad) - 0.5).astype(np.int32)], 1)
    return mask.astype(bool)


@pytest.fixture
def darkness():
    return _darkness


@pytest.fixture
def quad_mask():
    return _quad_mask
