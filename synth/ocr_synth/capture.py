"""Print and capture models: what a receipt printer, a worn office printer or a phone camera does.

`degrade.apply` models a flatbed scan of a laser-printed page (tint, light gradient, small rotation,
blur, sensor noise, JPEG). Real documents also arrive as faded thermal receipts, dot-matrix slips,
streaky toner, photographs taken at an angle with a hand's shadow on them, and low-resolution
or heavily compressed images. Each function here models one of those on an RGB uint8 image; `apply`
draws a few of them per image. Training only: the evaluation sets keep the recipe they always had
(`degrade.apply`), so figures stay comparable across model versions.

Geometry changes (perspective) move the ground truth too: functions that warp take and return the
quads (pixel-edge coordinates, as in `degrade`).
"""

from __future__ import annotations

import cv2
import numpy as np

from ocr_synth import degrade

INK_LEVEL = 128  # grey below which a pixel counts as ink (dot matrix, thermal fade)


def _gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _smooth_profile(rng: np.random.Generator, n: int, knots: int, low: float, high: float) -> np.ndarray:
    """A smooth random curve of n values in [low, high] (linear interpolation of a few knots)."""
    ys = rng.uniform(low, high, knots)
    return np.interp(np.linspace(0, knots - 1, n), np.arange(knots), ys).astype(np.float32)


def thermal_fade(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Thermal paper: ink lightened unevenly, worst in bands along the print head (columns).

    Each pixel keeps `strength` of its darkness below the paper (1 = as printed), with a strength
    that varies smoothly across the width (a worn head) and a little down the page (heat, age).
    """
    h, w = image.shape[:2]
    across = _smooth_profile(rng, w, int(rng.integers(3, 9)), 0.3, 1.0)
    down = _smooth_profile(rng, h, int(rng.integers(2, 5)), 0.75, 1.0)
    strength = (across[None, :] * down[:, None])[..., None]
    paper = np.float32(np.percentile(image, 95))
    out = paper - (paper - image.astype(np.float32)) * strength
    return np.clip(out, 0, 255).astype(np.uint8)


def dot_matrix(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Impact dot-matrix print: ink exists only as round dots on a grid, slightly smeared."""
    h, w = image.shape[:2]
    pitch = int(rng.integers(2, 5))
    ink = _gray(image) < INK_LEVEL
    grid = np.zeros((h, w), bool)
    oy, ox = int(rng.integers(pitch)), int(rng.integers(pitch))
    grid[oy::pitch, ox::pitch] = True
    dots = (ink & grid).astype(np.uint8) * 255
    radius = max(1, pitch // 2)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    dots = cv2.dilate(dots, kernel)
    dots = cv2.GaussianBlur(dots, (0, 0), sigmaX=0.6)
    alpha = (dots.astype(np.float32) / 255.0)[..., None]
    ink_colour = np.float32(rng.uniform(10, 70))
    paper = np.where(ink[..., None], np.float32(np.percentile(image, 95)), image.astype(np.float32))
    return np.clip(paper * (1 - alpha) + ink_colour * alpha, 0, 255).astype(np.uint8)


def toner_streaks(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """A worn laser drum: a few thin dark lines and faint light bands down the page."""
    h, w = image.shape[:2]
    out = image.astype(np.float32)
    for _ in range(int(rng.integers(1, 4))):
        x = int(rng.integers(w))
        width = int(rng.integers(1, 3))
        out[:, x : x + width] *= np.float32(rng.uniform(0.35, 0.75))
    for _ in range(int(rng.integers(0, 3))):
        x = int(rng.integers(w))
        width = int(rng.integers(3, max(4, w // 30)))
        band = out[:, x : x + width]
        out[:, x : x + width] = 255 - (255 - band) * np.float32(rng.uniform(0.3, 0.7))
    return np.clip(out, 0, 255).astype(np.uint8)


def perspective(
    rng: np.random.Generator, image: np.ndarray, quads: list[np.ndarray], amount: float = 0.06
) -> tuple[np.ndarray, list[np.ndarray]]:
    """A photo taken at an angle: each corner moves up to `amount` of the smaller side."""
    h, w = image.shape[:2]
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    shift = rng.uniform(-amount, amount, (4, 2)).astype(np.float32) * np.float32(min(w, h))
    dst = src + shift
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    moved = []
    for q in quads:
        pts = np.asarray(q, np.float32).reshape(-1, 1, 2) - 0.5
        moved.append(cv2.perspectiveTransform(pts, m).reshape(-1, 2) + 0.5)
    return warped, moved


def shadow(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """A soft shadow (a hand, a phone) over part of the page: a blurred half-plane, 50-85% light."""
    h, w = image.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    side = (xs - cx) * np.float32(np.cos(angle)) + (ys - cy) * np.float32(np.sin(angle))
    softness = np.float32(max(2.0, rng.uniform(0.02, 0.15) * max(w, h)))
    inside = 1.0 / (1.0 + np.exp(-side / softness))
    light = 1.0 - inside * np.float32(rng.uniform(0.15, 0.5))
    return np.clip(image.astype(np.float32) * light[..., None], 0, 255).astype(np.uint8)


def low_resolution(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Captured at 35-70% of the resolution, then scaled back to the page's size."""
    h, w = image.shape[:2]
    f = rng.uniform(0.35, 0.7)
    small = cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def small_print(
    rng: np.random.Generator, image: np.ndarray, quad: np.ndarray, ink_px: tuple[float, float] = (5.0, 11.0)
) -> tuple[np.ndarray, np.ndarray]:
    """Fine print captured as it is: the image shrunk (area averaging, as a sensor does) until the
    line's ink is `ink_px` tall (8-14 px print: a receipt's small lines, a page scanned at low dpi),
    and not scaled back. An image whose ink is already that small is returned as it is."""
    q = np.asarray(quad, np.float32)
    ink = 0.5 * (float(np.linalg.norm(q[3] - q[0])) + float(np.linalg.norm(q[2] - q[1])))
    f = float(rng.uniform(*ink_px)) / max(ink, 1.0)
    if f >= 1.0:
        return image, q
    h, w = image.shape[:2]
    size = (max(1, round(w * f)), max(1, round(h * f)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small, q * np.float32([size[0] / w, size[1] / h])


def low_jpeg(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Messaging-app compression: JPEG at quality 8-25."""
    return degrade.jpeg(image, int(rng.integers(8, 26)))


# print models first (they act on the ink), then the camera, then what the image went through after
PRINT = (thermal_fade, dot_matrix, toner_streaks)
CAMERA = (shadow, low_resolution, low_jpeg)


def apply(
    rng: np.random.Generator, image: np.ndarray, quads: list[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """At most one print model, maybe a perspective view, one or two capture models, in that order."""
    if rng.random() < 0.6:
        image = PRINT[int(rng.integers(len(PRINT)))](rng, image)
    if rng.random() < 0.4:
        image, quads = perspective(rng, image, quads)
    picks = rng.choice(len(CAMERA), size=int(rng.integers(1, 3)), replace=False)
    for i in sorted(picks):
        image = CAMERA[int(i)](rng, image)
    return image, [np.asarray(q, np.float32) for q in quads]
