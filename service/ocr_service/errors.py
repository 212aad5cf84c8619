"""The failures a client can cause or meet, one class per HTTP outcome.

The pipeline and the runners raise these; the web app's single error handler turns them into
`{"error": {"code", "message"}}` with `http_status`. Nothing else in the stack knows about HTTP.

`message` is the client's; `detail` carries what only the operator may see (model server addresses,
paths on the host, the backend's own words) and goes to the log, never into an answer (issue 13,
item 8).
"""

from __future__ import annotations


class OcrError(Exception):
    code = "ocr_error"
    http_status = 500

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message if detail is None else f"{message} [{detail}]")
        self.message = message
        self.detail = detail


class InvalidImage(OcrError):
    """Empty, corrupt, truncated or degenerate input, or malformed base64."""

    code = "invalid_image"
    http_status = 400


class ImageTooLarge(OcrError):
    """Too many bytes or too many pixels (decompression bombs included)."""

    code = "image_too_large"
    http_status = 413


class TooManyPages(OcrError):
    """A PDF or multi-page TIFF with more pages than OCR_MAX_PAGES, or a batch larger than OCR_MAX_BATCH."""

    code = "too_many_pages"
    http_status = 413


class UnsupportedImageType(OcrError):
    """Readable bytes, but not an image format we decode (text, PDF, ...)."""

    code = "unsupported_media_type"
    http_status = 415


class NotSupported(OcrError):
    """A request option the models being served cannot answer (e.g. per-character output)."""

    code = "not_supported"
    http_status = 501


class BackendUnavailable(OcrError):
    """The model backend is down, restarting or not ready yet."""

    code = "backend_unavailable"
    http_status = 503


class BackendTimeout(OcrError):
    """The model backend did not answer within the deadline."""

    code = "backend_timeout"
    http_status = 504


class UnprocessableImage(OcrError):
    """A well-formed image whose shape or content would cost more than a request may (issue 13):
    an absurd aspect ratio, more text lines than OCR_MAX_LINES. Sending it again will not help."""

    code = "unprocessable_image"
    http_status = 422


class BackendError(OcrError):
    """The model backend is up but refused or failed this call: TF Serving INVALID_ARGUMENT (the
    model and the pipeline disagree on a tensor), RESOURCE_EXHAUSTED or out of memory. Not an
    outage (that is 503, which tells the load balancer and clients to go elsewhere or wait)."""

    code = "backend_error"
    http_status = 500
