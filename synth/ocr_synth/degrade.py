"""Scanner and camera degradations, each seeded by the caller's generator.

Geometry changes (rotation) move the ground truth too: `apply` returns the quads transformed by the
very matrix that warped the image. Quads use pixel-edge coordinates (a pixel (x, y) spans
[x, x+1) x [y, y+1)); OpenCV matrices act on pixel centres, hence the half-pixel shifts below.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image, ImageDraw

MAX_ANGLE_DEG = 2.0


def rotation_matrix(angle_deg: float, width: int, height: int) -> np.ndarray:
    """2x3 OpenCV matrix rotating about the page centre (positive = counter-clockwise on screen)."""
    return cv2.getRotationMatrix2D(((width - 1) / 2.0, (height - 1) / 2.0), angle_deg, 1.0)


def transform_quads(quads: list[np.ndarray], matrix: np.ndarray) -> list[np.ndarray]:
    """Apply a 2x3 pixel-centre affine matrix to pixel-edge quads."""
    out = []
    for q in quads:
        pts = np.asarray(q, dtype=np.float64) - 0.5
        moved = pts @ matrix[:, :2].T + matrix[:, 2] + 0.5
        out.append(moved.astype(np.float32))
    return out


def rotate(
    image: np.ndarray, quads: list[np.ndarray], angle_deg: float
) -> tuple[np.ndarray, list[np.ndarray]]:
    h, w = image.shape[:2]
    m = rotation_matrix(angle_deg, w, h)
    warped = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return warped, transform_quads(quads, m)


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma)


def add_noise(rng: np.random.Generator, image: np.ndarray, sigma: float, colour: bool = False) -> np.ndarray:
    """Gaussian sensor noise; grey (same on all channels) unless colour, which costs 3x the draws."""
    shape = image.shape if colour else image.shape[:2] + (1,)
    noise = rng.standard_normal(shape, dtype=np.float32) * np.float32(sigma)
    return np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(
        ".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    )
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def shade(
    image: np.ndarray, tint: np.ndarray, gradient: tuple[float, float, float] | None = None
) -> np.ndarray:
    """Multiply by a paper tint (RGB in 0..1) and optionally a linear light gradient.

    gradient = (angle_rad, low, high): brightness goes from `low` to `high` across the page along
    that direction. Multiplicative, so white paper takes the tint and black ink stays black.
    """
    h, w = image.shape[:2]
    factor = np.asarray(tint, dtype=np.float32).reshape(1, 1, 3)
    if gradient is not None:
        angle, low, high = gradient
        xs = np.linspace(-0.5, 0.5, w, dtype=np.float32) * np.float32(np.cos(angle))
        ys = np.linspace(-0.5, 0.5, h, dtype=np.float32) * np.float32(np.sin(angle))
        ramp = xs[None, :] + ys[:, None]
        ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
        light = np.float32(low) + ramp * np.float32(high - low)
        factor = factor * light[..., None]
    return np.clip(image.astype(np.float32) * factor, 0, 255).astype(np.uint8)


def apply(
    rng: np.random.Generator, image: np.ndarray, quads: list[np.ndarray], *, mild: bool = False
) -> tuple[np.ndarray, list[np.ndarray]]:
    """A random mix of degradations in scan order: paper and light, rotation, blur, noise, JPEG.

    mild=True (used for line strips) keeps the same kinds with weaker settings, so small crops stay
    legible. The draws from rng are the same whatever is skipped, so a seed always maps to a recipe.
    """
    draws = rng.random(7)
    tint = 1.0 - rng.uniform(0.0, 0.12, 3) * np.array([0.3, 0.6, 1.0])  # cream/yellow paper
    grad = (float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0.6 if not mild else 0.8, 0.95)), 1.0)
    angle = float(rng.uniform(-MAX_ANGLE_DEG, MAX_ANGLE_DEG))
    sigma_blur = float(rng.uniform(0.3, 1.3 if not mild else 0.9))
    sigma_noise = float(rng.uniform(2.0, 10.0 if not mild else 6.0))
    quality = int(rng.integers(30 if not mild else 50, 91))

    use_tint, use_light = draws[0] < 0.5, draws[1] < 0.5
    if use_tint or use_light:
        image = shade(image, tint if use_tint else np.ones(3), grad if use_light else None)
    if draws[2] < 0.7:
        image, quads = rotate(image, quads, angle)
    if draws[3] < 0.5:
        image = blur(image, sigma_blur)
    if draws[4] < 0.6:
        image = add_noise(rng, image, sigma_noise, colour=draws[6] < 0.2)
    if draws[5] < 0.6:
        image = jpeg(image, quality)
    return image, [np.asarray(q, dtype=np.float32) for q in quads]


def stamp(rng: np.random.Generator, image: np.ndarray, cx: float, cy: float, r: float) -> None:
    """Red seal: ring or ellipse outline with a star, darken-blended so text under it stays visible."""
    w, h = image.shape[1], image.shape[0]
    rx, ry = r, r * (rng.uniform(0.65, 0.8) if rng.random() < 0.4 else 1.0)
    pad = int(r) + 4
    x0, y0 = max(0, int(cx) - pad), max(0, int(cy) - pad)
    x1, y1 = min(w, int(cx) + pad), min(h, int(cy) + pad)
    if x1 <= x0 or y1 <= y0:
        return
    mask = Image.new("L", (x1 - x0, y1 - y0), 0)
    draw = ImageDraw.Draw(mask)
    lx, ly = cx - x0, cy - y0
    ring = max(2, int(r * rng.uniform(0.05, 0.09)))
    draw.ellipse((lx - rx, ly - ry, lx + rx, ly + ry), outline=255, width=ring)
    sr = min(rx, ry) * rng.uniform(0.25, 0.35)
    star = [
        (lx + (sr if k % 2 == 0 else sr * 0.4) * math.sin(k * math.pi / 5),
         ly - (sr if k % 2 == 0 else sr * 0.4) * math.cos(k * math.pi / 5))
        for k in range(10)
    ]  # fmt: skip
    draw.polygon(star, fill=255)
    alpha = np.asarray(mask, dtype=np.float32)[..., None] / 255 * np.float32(rng.uniform(0.6, 0.9))
    red = np.array([rng.uniform(190, 235), rng.uniform(20, 70), rng.uniform(30, 70)], np.float32)
    region = image[y0:y1, x0:x1].astype(np.float32)
    stamped = np.minimum(region, region * (1 - alpha) + red * alpha)
    image[y0:y1, x0:x1] = stamped.astype(np.uint8)
