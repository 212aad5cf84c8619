"""Bounds on the work one request may cause (issue 13, items 1 and 3).

A 4 KB PNG can be 12 x 300000 pixels; decoding is bounded by OCR_MAX_PIXELS, but the pipeline's
cost also depends on the shape (the detector's scaling) and on how many lines it finds (one crop
and one recogniser slot each). Every bound here is a `Settings` field, checked before the work it
bounds, and refused with a message naming the limit and the variable that sets it.
"""

from __future__ import annotations

from .errors import ImageTooLarge, UnprocessableImage


def check_shape(width: int, height: int, max_pixels: int, max_aspect_ratio: float) -> None:
    """Refuse an image too large (413) or too elongated (422) before any pixel is decoded."""
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"the image is {width}x{height} = {width * height} pixels; the limit is {max_pixels} "
            "(OCR_MAX_PIXELS)"
        )
    ratio = max(width, height) / max(1, min(width, height))
    if ratio > max_aspect_ratio:
        raise UnprocessableImage(
            f"the image is {width}x{height}, an aspect ratio of {ratio:.0f}:1; the limit is "
            f"{max_aspect_ratio:g}:1 (OCR_MAX_ASPECT_RATIO): cut it into pages and send them one by one"
        )


def check_lines(count: int, max_lines: int) -> None:
    """Refuse a page with more detected lines than a request may read, before any is cropped."""
    if count > max_lines:
        raise UnprocessableImage(
            f"the image has {count} text lines; the limit is {max_lines} per request "
            "(OCR_MAX_LINES): send it in parts"
        )
