"""Turn untrusted image bytes into one well-formed RGB array, or a precise error.

Everything a client can send (16-bit PNGs, CMYK JPEGs, EXIF-rotated phone photos, animated GIFs,
alpha channels, decompression bombs) is normalised or refused here, so the pipeline only ever sees
uint8 HxWx3 RGB in display orientation.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InvalidImage, UnsupportedImageType
from .limits import check_shape

# We enforce our own pixel limit before decoding; Pillow's global one would raise its own
# exception type at twice its default, which we do not want to depend on.
Image.MAX_IMAGE_PIXELS = None

# Leading bytes of the formats we read. Bytes that start like an image but do not decode are a
# corrupt image (400); bytes that look like nothing we read are an unsupported type (415).
_SIGNATURES: dict[bytes, str] = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}
READABLE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")


def sniff_format(data: bytes) -> str | None:
    """Name of the image format the bytes start with, or None."""
    for magic, name in _SIGNATURES.items():
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def decode_image(data: bytes, max_pixels: int, max_aspect_ratio: float) -> np.ndarray:
    """Decode `data` into an RGB uint8 array (HxWx3) with EXIF orientation applied.

    Size and shape are checked from the header, before a pixel is decoded (`limits.check_shape`).
    """
    if not data:
        raise InvalidImage("the image is empty (0 bytes)")
    sniffed = sniff_format(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data), formats=READABLE_FORMATS)
    except UnidentifiedImageError:
        if sniffed:
            raise InvalidImage(f"the {sniffed} image is corrupt and cannot be decoded") from None
        raise UnsupportedImageType(
            "the upload is not an image format we read; send PNG, JPEG, GIF, BMP, TIFF or WebP"
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImage(f"the image cannot be decoded: {exc}") from None

    width, height = image.size
    if width <= 0 or height <= 0:
        raise InvalidImage(f"the image has no pixels ({width}x{height})")
    check_shape(width, height, max_pixels, max_aspect_ratio)
    try:
        image.seek(0)  # first frame of animations
        image.load()
        image = ImageOps.exif_transpose(image)
        return _to_rgb(image)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImage(f"the {image.format or 'image'} data is truncated or corrupt: {exc}") from None


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Normalise any Pillow mode to 8-bit RGB, compositing transparency onto white paper.

    No float64 copy of the page: 16-bit and 32-bit pages are shifted or scaled in their own width
    (a 40 Mpx 16-bit page would otherwise take 320 MB per float64 copy). Transparency of every kind
    (an alpha channel, a transparent palette entry, a tRNS colour key on L/RGB) is composited onto
    white, so black text on a transparent background reads as black on white.
    """
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        gray = _high_depth_to_uint8(np.asarray(image), sixteen_bit=mode.startswith("I;16"))
        return np.repeat(gray[:, :, None], 3, axis=2)
    if "transparency" in image.info and mode in ("P", "L", "RGB", "1"):
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        image = image.convert("RGBA")
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, image)
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb)


def _high_depth_to_uint8(array: np.ndarray, sixteen_bit: bool) -> np.ndarray:
    """A 16/32-bit integer or float grey page to uint8, without a float64 copy.

    16-bit data (or any with values above 255) maps 0..65535 to 0..255 by its high byte (x >> 8,
    exact for 8-bit data stored in 16 bits, x * 257); data within 0..255 is kept as it is.
    """
    if array.dtype.kind == "f":
        top = np.float32(65535.0 if float(array.max(initial=0.0)) > 255.0 else 255.0)
        scaled = array.astype(np.float32, copy=False) * (np.float32(255.0) / top) + np.float32(0.5)
        return np.clip(scaled, 0, 255).astype(np.uint8)
    if array.dtype == np.uint16:
        return (array >> 8).astype(np.uint8)
    if sixteen_bit or int(array.max(initial=0)) > 255:
        return (np.clip(array, 0, 65535).astype(np.uint16) >> 8).astype(np.uint8)
    return np.clip(array, 0, 255).astype(np.uint8)


def array_to_rgb(array: np.ndarray) -> np.ndarray:
    """Accept the arrays callers commonly hold (gray, RGB, RGBA; uint8, uint16, float in [0, 1])."""
    if not isinstance(array, np.ndarray):
        raise InvalidImage(f"expected a numpy array, got {type(array).__name__}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InvalidImage(f"expected an HxW, HxWx1, HxWx3 or HxWx4 array, got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidImage(f"the image has no pixels ({array.shape[1]}x{array.shape[0]})")
    if array.dtype == np.uint8:
        pass
    elif array.dtype == np.uint16:
        array = (array.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    elif array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise InvalidImage("the image array contains NaN or infinite values")
        array = np.clip(array * 255.0 + 0.5, 0, 255).astype(np.uint8)
    else:
        raise InvalidImage(f"unsupported array dtype {array.dtype}; use uint8, uint16 or float")
    if array.ndim == 2:
        return np.repeat(array[:, :, None], 3, axis=2)
    if array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255.0
        rgb = array[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)
