"""Resize and pad a page for the detector (the model needs H and W multiples of 16)."""

import cv2
import numpy as np

MAX_SIDE = 1600
MIN_HEIGHT = 64


def scale_for(height: int, width: int) -> float:
    """Shrink so the longer side is <= MAX_SIDE; enlarge only tiny images (< MIN_HEIGHT px tall)."""
    if height < MIN_HEIGHT:
        return MIN_HEIGHT / height
    return min(1.0, MAX_SIDE / max(height, width))


def prepare(image_rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """RGB uint8 HxWx3 -> (uint8 [H', W', 3] padded with white to multiples of 16, scale applied)."""
    h, w = image_rgb.shape[:2]
    scale = scale_for(h, w)
    img = image_rgb
    if scale != 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        img = cv2.resize(image_rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    ph, pw = -(-img.shape[0] // 16) * 16, -(-img.shape[1] // 16) * 16
    out = np.full((ph, pw, 3), 255, dtype=np.uint8)
    out[: img.shape[0], : img.shape[1]] = img
    return out, scale
