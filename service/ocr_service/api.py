"""The HTTP API: `/v1/ocr`, health, readiness and metrics (`/v1/recognize`: `v1`; `/ocr`, `/crnn`: `legacy`).

Views only move bytes and JSON; decoding and reading happen in the pipeline, and every failure is
an exception that the app's one error handler turns into a JSON error with its status.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import BadRequest

from . import metrics
from .errors import ImageTooLarge, InvalidImage, UnsupportedImageType
from .hardening import json_object
from .state import state

api = Blueprint("api", __name__)

_DATA_URL = re.compile(r"^data:[\w.+\-/]*(;[\w.+\-=]+)*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
HOW_TO_SEND = 'send multipart/form-data with a file field \'image\', or JSON {"image": "<base64>"}'


def _names(keys) -> str:
    """Field names a client sent, for an error message: a few, each cut short."""
    names = sorted(str(key)[:40] for key in keys)
    return ", ".join(f"'{name}'" for name in names[:10]) + (", ..." if len(names) > 10 else "") or "none"


def decode_base64(value: Any, field: str, max_bytes: int) -> bytes:
    """Base64 text (optionally a data: URL, possibly wrapped in lines) to bytes, or a precise error."""
    if not isinstance(value, str):
        raise BadRequest(f"the '{field}' field must be a base64 string, not {type(value).__name__}")
    text = _WHITESPACE.sub("", _DATA_URL.sub("", value.strip(), count=1))
    if not text:
        raise InvalidImage(f"the '{field}' field is empty")
    if len(text) // 4 * 3 > max_bytes + 2:
        raise ImageTooLarge(f"the image is about {len(text) // 4 * 3} bytes; the limit is {max_bytes}")
    try:
        if "-" in text or "_" in text:
            return base64.b64decode(text, altchars=b"-_", validate=True)
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImage(f"the '{field}' field is not valid base64") from None


def image_from_request(json_field: str, form_field: str = "image") -> bytes:
    """The uploaded image bytes: multipart file, JSON base64, or a raw image/* body."""
    max_bytes = state().settings.max_upload_bytes
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        upload = request.files.get(form_field)
        if upload is not None:
            data = upload.stream.read(max_bytes + 1)
        elif form_field in request.form:  # `curl -F image=<file.b64`: base64 text in a form field
            data = decode_base64(request.form[form_field], form_field, max_bytes)
        else:
            sent = _names(set(request.files) | set(request.form))
            raise BadRequest(f"missing file field '{form_field}' (fields sent: {sent}); {HOW_TO_SEND}")
    elif request.is_json:
        body = json_object()
        if body is None:
            raise BadRequest(f"the body is not valid JSON; {HOW_TO_SEND}")
        if not isinstance(body, dict):
            raise BadRequest(
                f"expected a JSON object with the field '{json_field}', got {type(body).__name__}"
            )
        if json_field not in body:
            raise BadRequest(f"missing field '{json_field}' (fields sent: {_names(body)}); {HOW_TO_SEND}")
        data = decode_base64(body[json_field], json_field, max_bytes)
    elif mimetype.startswith("image/") or mimetype in ("application/octet-stream", "application/pdf"):
        data = request.get_data(cache=False)
    elif not request.content_length and not request.get_data(cache=False):
        raise BadRequest(f"the request has no image; {HOW_TO_SEND}")
    else:
        raise UnsupportedImageType(f"Content-Type '{mimetype or 'none'}' is not accepted; {HOW_TO_SEND}")
    if len(data) > max_bytes:
        raise ImageTooLarge(f"the image is more than {max_bytes} bytes, the limit")
    if not data:
        raise InvalidImage("the image is empty (0 bytes)")
    return data


@api.post("/v1/ocr")
def ocr_v1() -> Response:
    """One image, a document (PDF, multi-page TIFF) or a batch, with options: `ocr_service.v1`."""
    from .v1 import answer_ocr

    return answer_ocr()


@api.get("/healthz")
def healthz() -> Response:
    """The process is alive and answering; says nothing about the models (that is /readyz)."""
    return jsonify({"status": "ok"})


@api.get("/readyz")
def readyz() -> tuple[Response, int]:
    svc = state()
    ready, reason = svc.holder.readiness()
    body = {"status": "ready" if ready else "not_ready", "reason": reason, "mode": svc.settings.mode}
    # Where the models run in this worker (mode single): "GPU:0 (<name>)" or "CPU"; null when a
    # TF Serving backend runs them. The deployment's smoke test checks it on GPU hosts.
    body["device"] = svc.holder.device
    return jsonify(body), 200 if ready else 503


@api.get("/metrics")
def prometheus_metrics() -> Response:
    payload, content_type = metrics.render()
    return Response(payload, content_type=content_type)
