"""Uploads that hold several pages: PDFs (rendered with PDFium) and multi-page TIFFs.

`load(data, settings)` answers an `Image` (one page: every format `imageio` reads, a one-page TIFF
included) or a `Document` whose pages are rendered on demand, so a request holds only the pages it
is reading. Limits, checked before anything is rendered: at most `Settings.max_pages` pages, each
at most `Settings.max_pixels` pixels once rendered at `Settings.pdf_dpi` (413 with the page and a
way out); a PDF that PDFium cannot open (corrupt, truncated, encrypted) is a 400.

PDFium is not thread-safe: "It is not allowed to call pdfium functions simultaneously across
different threads, not even with different documents" (pypdfium2 docs, Python API, "Incompatibility
with Threading", https://pypdfium2-team.github.io/pypdfium2/python_api.html). Every PDFium call of
this process goes through `_PDFIUM`, a lock; gunicorn's threads render one page at a time and read
the models in parallel.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage

from .errors import ImageTooLarge, InvalidImage, TooManyPages
from .imageio import _to_rgb, decode_image, sniff_format
from .settings import Settings

_PDFIUM = threading.Lock()
POINTS_PER_INCH = 72.0


def is_pdf(data: bytes) -> bool:
    # PDF readers accept the header anywhere in the first 1024 bytes (PDF 32000-1:2008, annex H.3).
    return b"%PDF-" in data[:1024]


@dataclass
class Image:
    """One page: an ordinary image upload."""

    rgb: np.ndarray


@dataclass
class PageInfo:
    page: int  # 1-based
    width: int
    height: int
    text_layer: bool


@dataclass
class Document:
    """A PDF or a multi-page TIFF: page sizes known, pixels rendered by `render(index)`."""

    kind: str  # "pdf" or "tiff"
    pages: list[PageInfo]
    render: Callable[[int], np.ndarray]  # 0-based index -> RGB uint8
    close: Callable[[], None] = lambda: None


def load(data: bytes, settings: Settings) -> Image | Document:
    if is_pdf(data):
        return _load_pdf(data, settings)
    if sniff_format(data) == "TIFF":
        document = _load_tiff(data, settings)
        if document is not None:
            return document
    return Image(decode_image(data, settings.max_pixels, settings.max_aspect_ratio))


def _check_pages(count: int, settings: Settings, kind: str) -> None:
    if count == 0:
        raise InvalidImage(f"the {kind} has no pages")
    if count > settings.max_pages:
        raise TooManyPages(
            f"the {kind} has {count} pages; the limit is {settings.max_pages} per request "
            "(split the file, or send the pages in several requests)"
        )


def _check_pixels(page: int, width: int, height: int, settings: Settings, hint: str) -> None:
    if width <= 0 or height <= 0:
        raise InvalidImage(f"page {page} has no pixels ({width}x{height})")
    if width * height > settings.max_pixels:
        raise ImageTooLarge(
            f"page {page} is {width}x{height} = {width * height} pixels{hint}; "
            f"the limit is {settings.max_pixels} pixels per page"
        )


# --- PDF ---------------------------------------------------------------------------------------------


def _load_pdf(data: bytes, settings: Settings) -> Document:
    import pypdfium2 as pdfium

    scale = settings.pdf_dpi / POINTS_PER_INCH
    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise InvalidImage(f"the PDF cannot be opened: {exc}") from None
        try:
            count = len(pdf)
            _check_pages(count, settings, "PDF")
            pages = []
            for index in range(count):
                width_pt, height_pt = pdf.get_page_size(index)
                width, height = round(width_pt * scale), round(height_pt * scale)
                hint = f" at {settings.pdf_dpi} dpi"
                _check_pixels(index + 1, width, height, settings, hint)
                pages.append(PageInfo(index + 1, width, height, _has_text(pdf, index)))
        except BaseException:
            pdf.close()
            raise

    def render(index: int) -> np.ndarray:
        with _PDFIUM:
            page = pdf[index]
            try:
                image = page.render(scale=scale, may_draw_forms=False).to_pil()
            finally:
                page.close()
        rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
        return np.ascontiguousarray(rgb)

    def close() -> None:
        with _PDFIUM:
            pdf.close()

    return Document("pdf", pages, render, close)


def _has_text(pdf, index: int) -> bool:
    """The page carries text objects with visible characters (a born-digital page, or a scan's
    OCR layer: either way it is read again, since scans often wrap junk text layers)."""
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            return bool(textpage.get_text_range().strip())
        finally:
            textpage.close()
    finally:
        page.close()


# --- TIFF --------------------------------------------------------------------------------------------


def _load_tiff(data: bytes, settings: Settings) -> Document | None:
    """A multi-page TIFF as a Document; None for a one-page TIFF (decoded as an ordinary image)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tiff = PILImage.open(io.BytesIO(data), formats=["TIFF"])
            count = getattr(tiff, "n_frames", 1)
    except (OSError, ValueError, SyntaxError, EOFError):
        return None  # decode_image gives the precise error
    if count <= 1:
        return None
    _check_pages(count, settings, "TIFF")
    pages = []
    try:
        for index in range(count):
            tiff.seek(index)
            width, height = tiff.size
            _check_pixels(index + 1, width, height, settings, "")
            pages.append(PageInfo(index + 1, width, height, False))
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImage(f"the TIFF is corrupt: {exc}") from None

    lock = threading.Lock()  # one Pillow image object, seeked per page

    def render(index: int) -> np.ndarray:
        with lock:
            try:
                tiff.seek(index)
                tiff.load()
                return _to_rgb(tiff)
            except (OSError, ValueError, SyntaxError, EOFError) as exc:
                raise InvalidImage(f"page {index + 1} of the TIFF is truncated or corrupt: {exc}") from None

    return Document("tiff", pages, render)
