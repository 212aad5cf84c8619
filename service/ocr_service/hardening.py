"""HTTP-level protections of the service (issue 13): bounded request parsing and security headers.

The views call `json_object` instead of `request.get_json`; the app factory calls `configure` and
`add_security_headers`. What each protects and how to turn it off: service/README.md, "Hardening".
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from .settings import Settings

# The upload page loads only its own script and stylesheet, draws the chosen file from a blob: URL
# onto a canvas and POSTs to v1/ocr on the same origin. Nothing may frame any of it.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Form parts beside a batch's images (the options: recognize, min_confidence, characters, ...);
# a form may have OCR_MAX_BATCH images and these (Werkzeug's default is 1000 parts).
OPTION_FORM_PARTS = 8


def configure(app: Flask, settings: Settings) -> None:
    """Request limits: the body (MAX_CONTENT_LENGTH), one non-file form field, the form's parts.

    Flask >= 3.1 limits a non-file form field to MAX_FORM_MEMORY_SIZE, 500 000 bytes by default
    (flask docs/config.rst, "MAX_FORM_MEMORY_SIZE"; pallets/flask#5622): the documented
    `curl -F image=<file.b64` (base64 text in a form field) would be refused from a 375 KB image
    on. The field may be as large as the body; both answer 413 naming the limit that was hit.
    """
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = settings.max_request_bytes
    app.config["MAX_FORM_PARTS"] = settings.max_batch + OPTION_FORM_PARTS


def too_large_message(app: Flask, exc: RequestEntityTooLarge) -> str:
    """Which of the request limits was hit, in a sentence with its value."""
    body_limit = app.config.get("MAX_CONTENT_LENGTH")
    length = request.content_length
    if body_limit is not None and (length is None or length > body_limit):
        return (
            f"the request body is larger than the {body_limit} bytes this service accepts "
            "(OCR_MAX_UPLOAD_BYTES, plus base64 and multipart overhead)"
        )
    if request.mimetype == "multipart/form-data":
        return (
            f"the multipart form is over a limit: a text field may hold {app.config['MAX_FORM_MEMORY_SIZE']} "
            f"bytes and the form {app.config['MAX_FORM_PARTS']} parts; send one field 'image' per image"
        )
    return exc.description or "the request is too large"


def json_object() -> object | None:
    """The request's JSON, None when it is not valid JSON; 400 when it nests too deeply to parse.

    Python's json parser recurses once per level: `[[[[...]]]]` of a few KB raises RecursionError,
    which Flask does not catch (a 500 with a traceback in the log before issue 13).
    """
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise BadRequest('the JSON body is nested too deeply; send {"image": "<base64>"}') from None


def bound_body_reads(environ: dict, seconds: float) -> None:
    """No read of this request's body may wait more than `seconds` for the client (slow bodies).

    gunicorn's gthread worker reads a body in the request's thread with a blocking socket and no
    timeout: two clients that send headers and then nothing held both threads of a worker, and the
    requests queued behind them, forever. gunicorn resets the socket's mode after the request.
    """
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        sock.settimeout(seconds)


def body_timed_out(exc: BaseException) -> bool:
    """The client stopped sending the body (Werkzeug reports it as a disconnect caused by the timeout)."""
    return isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
