"""Test PDFs made here, never downloaded: image-only pages (a scan) and a page with a text layer.

`image_pdf` uses Pillow's PDF writer (each image one page of image size / dpi inches, no text);
`text_pdf` writes a one-page PDF by hand (PDF 32000-1:2008, 7.5: header, objects, xref, trailer)
whose content stream shows a string in the standard Helvetica font, so PDFium finds a text layer.
"""

from __future__ import annotations

import io

from PIL import Image


def image_pdf(images: list[Image.Image], dpi: int = 150) -> bytes:
    first, *rest = [image.convert("RGB") for image in images]
    buffer = io.BytesIO()
    first.save(buffer, format="PDF", resolution=float(dpi), save_all=True, append_images=rest)
    return buffer.getvalue()


def text_pdf(text: str, size: tuple[int, int] = (300, 100)) -> bytes:
    """One page of `size` points showing `text` (ASCII) in 24 pt Helvetica."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 24 Tf 20 40 Td ({escaped}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {size[0]} {size[1]}] "
            "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
        ).encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
