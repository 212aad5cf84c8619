"""The original service's endpoints for its old clients: `/ocr` (a page) and `/crnn` (line images).

What the original did (github.com/piginzoo/ocr_web, `utils/api.py` and `server/server.py`, the
service the seed blog post deploys): it read the body as JSON whatever the Content-Type, after
removing line breaks (`json2dict`); `/ocr` took `{"img": "<base64>"}` and cut anything up to the
first comma (a `data:` URL prefix); `/crnn` took a JSON list `[{"img": "<base64>"}, ...]` and answered
`{"sid", "prism_wordsInfo": [{"word"}]}`; `/ocr` answered `content` as every word followed by one
space; every failure was `{"error_code": -1, "message": ...}`, always with HTTP 200.

Here: the same requests and fields, but honest HTTP status codes; an error body carries
`error_code: -1` and `message` (what an old client reads) beside the service's usual `error` and
`request_id`. The remaining differences are listed in service/README.md.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import BadRequest

from . import metrics
from .api import decode_base64, image_from_request
from .errors import TooManyPages
from .state import state
from .v1 import decode_line

legacy = Blueprint("legacy", __name__)
HOW_TO_SEND_OCR = 'send JSON {"img": "<base64>"}'
HOW_TO_SEND_CRNN = 'send a JSON list [{"img": "<base64>"}, ...]'


def json_body(how: str) -> Any:
    """The body as JSON whatever the Content-Type, line breaks removed first, as the original did."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadRequest(f"the request has no body; {how}")
    try:
        text = raw.decode("utf-8").replace("\r\n", "").replace("\n", "")
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest(f"the body is not valid JSON; {how}") from None


def legacy_base64(value: Any, field: str) -> bytes:
    """The original cut everything up to the first comma (a data: URL header), then decoded."""
    if isinstance(value, str) and "," in value:
        value = value[value.index(",") + 1 :]
    return decode_base64(value, field, state().settings.max_upload_bytes)


@legacy.post("/ocr")
def ocr_compat() -> Response:
    """Drop-in for clients of the original service: same request and fields, honest status codes."""
    if request.mimetype == "multipart/form-data" or request.mimetype.startswith("image/"):
        data = image_from_request("img")  # what this service took before issue 14; kept for its clients
    else:
        body = json_body(HOW_TO_SEND_OCR)
        if not isinstance(body, dict) or "img" not in body:
            raise BadRequest(f"missing field 'img'; {HOW_TO_SEND_OCR}")
        data = legacy_base64(body["img"], "img")
    result = state().holder.get().read(data)
    metrics.observe_timings(result.timings_ms)
    metrics.observe_page(len(result.lines), result.models)
    words = [
        {"word": line.text, "pos": [{"x": int(round(x)), "y": int(round(y))} for x, y in line.box]}
        for line in result.lines
    ]
    return jsonify(
        {
            "sid": g.request_id,
            "prism_version": "1.0",
            "prism_wnum": len(words),
            "prism_wordsInfo": words,
            "height": result.height,
            "width": result.width,
            "orgHeight": result.height,
            "orgWidth": result.width,
            "content": "".join(line.text + " " for line in result.lines),
            "models": result.models,  # not in the original: the model versions that read it
            # not in the original either, and only with OCR_ORIENT on: the turn applied to read it
            **({"rotation": result.rotation} if result.rotation is not None else {}),
        }
    )


@legacy.post("/crnn")
def crnn_compat() -> Response:
    """Recognition only for the original clients: a list of line images, one word each, in order."""
    body = json_body(HOW_TO_SEND_CRNN)
    if not isinstance(body, list):
        raise BadRequest(f"expected a JSON list, got {type(body).__name__}; {HOW_TO_SEND_CRNN}")
    if not body:
        raise BadRequest(f"the list has no images; {HOW_TO_SEND_CRNN}")
    limit = state().settings.max_batch
    if len(body) > limit:
        raise TooManyPages(f"the list has {len(body)} images; the limit is {limit} per request")
    lines = []
    for index, entry in enumerate(body):
        if not isinstance(entry, dict) or "img" not in entry:
            raise BadRequest(f"item {index} has no field 'img'; {HOW_TO_SEND_CRNN}")
        lines.append(decode_line(legacy_base64(entry["img"], f"[{index}].img")))
    read, timings = state().holder.get().recognize_lines(lines)
    metrics.observe_timings(timings)
    models = {"crnn": state().holder.get().served_version("crnn")}  # not in the original
    return jsonify(
        {"sid": g.request_id, "prism_wordsInfo": [{"word": text} for text, _ in read], "models": models}
    )


@legacy.errorhandler(Exception)
def legacy_error(exc: Exception) -> tuple[Response, int]:
    """The service's error (same status, same `error` object) plus the original's two fields."""
    from .app import handle_error

    answer = handle_error(exc)
    response, status = answer if isinstance(answer, tuple) else (answer, answer.status_code)
    body = response.get_json()
    legacy_body = {"error_code": -1, "message": body["error"]["message"], **body}
    out = jsonify(legacy_body)
    for header in ("Allow",):
        if header in response.headers:
            out.headers[header] = response.headers[header]
    return out, status
