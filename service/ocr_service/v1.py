"""`/v1/ocr`'s reading of one image, a document (PDF, multi-page TIFF) or a batch, and `/v1/recognize`.

The api blueprint's `/v1/ocr` view calls `answer_ocr()`; `/v1/recognize` is this module's own
blueprint. A batch is several images in one request: repeated multipart `image` fields, a JSON
`{"images": [...]}` or a JSON list. Its images share model calls (`Pipeline.read_many`: the lines of
all of them go to the recogniser together), its results come back in order, and an image that
cannot be read gets its own error without failing the rest. A model backend that is down or too
slow fails the whole request (503/504): nothing could be read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException

from . import deadline, documents, metrics
from .api import decode_base64, image_from_request
from .errors import OcrError, TooManyPages, UnsupportedImageType
from .hardening import json_object
from .imageio import decode_image
from .options import OcrOptions, check_fields, parse_options
from .pipeline import OcrResult, Pipeline
from .settings import Settings
from .state import state

v1 = Blueprint("v1", __name__)

# Images or pages per `Pipeline.read_many` call: they share the recogniser's calls, and a request
# holds at most this many rendered pages in memory at once.
PAGES_PER_CALL = 8
HOW_TO_BATCH = 'repeat the multipart field \'image\', or send JSON {"images": ["<base64>", ...]}'


@dataclass
class Upload:
    name: str | None
    data: bytes | None = None
    error: tuple[str, str] | None = None  # (code, message) when this image alone is refused


def _error_of(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, OcrError):
        return exc.code, exc.message
    if isinstance(exc, HTTPException):
        return "bad_request", exc.description or "bad request"
    raise exc


# --- what the client sent ----------------------------------------------------------------------------


def is_batch() -> bool:
    if request.mimetype == "multipart/form-data":
        return len(request.files.getlist("image")) + len(request.form.getlist("image")) > 1
    if request.is_json:
        body = json_object()
        return isinstance(body, list) or (isinstance(body, dict) and "images" in body)
    return False


def batch_uploads() -> tuple[list[Upload], list[Mapping[str, Any]]]:
    """The images of a batch request, each with its own error if it alone is bad, and the options."""
    settings = state().settings
    max_bytes = settings.max_upload_bytes
    uploads: list[Upload] = []
    if request.mimetype == "multipart/form-data":
        for upload in request.files.getlist("image"):
            uploads.append(Upload(upload.filename, upload.stream.read(max_bytes + 1)))
        for index, text in enumerate(request.form.getlist("image")):
            uploads.append(_decoded(None, text, f"image[{index}]", max_bytes))
        sources: list[Mapping[str, Any]] = [
            request.args,
            {key: request.form[key] for key in request.form if key != "image"},
        ]
    else:
        body = json_object()
        entries = body if isinstance(body, list) else body.get("images")
        if not isinstance(entries, list):
            raise BadRequest(f"the 'images' field must be a list; {HOW_TO_BATCH}")
        for index, entry in enumerate(entries):
            name = None
            if isinstance(entry, dict):
                name = entry.get("name") if isinstance(entry.get("name"), str) else None
                entry = entry.get("image")
            uploads.append(_decoded(name, entry, f"images[{index}]", max_bytes))
        options = {} if isinstance(body, list) else {k: v for k, v in body.items() if k != "images"}
        sources = [request.args, options]
    if not uploads:
        raise BadRequest(f"the batch has no images; {HOW_TO_BATCH}")
    if len(uploads) > settings.max_batch:
        raise TooManyPages(
            f"the batch has {len(uploads)} images; the limit is {settings.max_batch} per request"
        )
    for upload in uploads:
        if upload.error is None and upload.data is not None:
            if len(upload.data) > max_bytes:
                upload.error = ("image_too_large", f"the image is more than {max_bytes} bytes, the limit")
            elif not upload.data:
                upload.error = ("invalid_image", "the image is empty (0 bytes)")
    return uploads, sources


def _decoded(name: str | None, value: Any, field: str, max_bytes: int) -> Upload:
    try:
        return Upload(name, decode_base64(value, field, max_bytes))
    except (OcrError, BadRequest) as exc:
        return Upload(name, error=_error_of(exc))


def single_sources() -> list[Mapping[str, Any]]:
    """The fields of a one-image request beside the image (read after it: the body is parsed once)."""
    sources: list[Mapping[str, Any]] = [request.args]
    if request.mimetype == "multipart/form-data":
        sources.append({key: request.form[key] for key in request.form if key != "image"})
    elif request.is_json:
        body = json_object()
        sources.append({k: v for k, v in body.items() if k != "image"} if isinstance(body, dict) else {})
    return sources


def single_options() -> OcrOptions:
    """The options of a one-image request."""
    return parse_options(single_sources(), state().settings, ignore=("image",))


# --- reading -------------------------------------------------------------------------------------------


@dataclass
class _Task:
    item: int
    page: documents.PageInfo | None
    pixels: Callable[[], np.ndarray]


def read_items(
    pipeline: Pipeline,
    items: list[Upload],
    options: OcrOptions,
    *,
    fail_fast: bool,
    settings: Settings | None = None,
    progress: Callable[[int, int], None] | None = None,
    per_page_deadline: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """One answer per item, in order; `fail_fast`: a bad item raises (a one-image request).

    `settings`: outside a request (async jobs); `progress(done, total)`: after each pipeline pass,
    counting images and pages. `per_page_deadline` (async jobs, which no client waits on): each
    pass may take OCR_TIMEOUT_S per image or page it reads, instead of the request's one deadline."""
    settings = settings or state().settings
    answers: list[dict[str, Any]] = [{} for _ in items]
    opened: list[documents.Document] = []
    tasks: list[_Task] = []
    decode_s = 0.0  # decoding images and rendering pages happen here, before the pipeline
    for index, item in enumerate(items):
        if item.error is not None:
            answers[index] = {"error": {"code": item.error[0], "message": item.error[1]}}
            continue
        try:
            started = time.perf_counter()
            loaded = documents.load(item.data or b"", settings)
            decode_s += time.perf_counter() - started
        except OcrError as exc:
            if fail_fast:
                raise
            answers[index] = {"error": {"code": exc.code, "message": exc.message}}
            continue
        if isinstance(loaded, documents.Image):
            tasks.append(_Task(index, None, lambda rgb=loaded.rgb: rgb))
        else:
            opened.append(loaded)
            answers[index] = {"pages": []}
            tasks.extend(
                _Task(index, page, lambda d=loaded, i=page.page - 1: d.render(i)) for page in loaded.pages
            )
    timings: dict[str, float] = {}
    try:
        for start in range(0, len(tasks), PAGES_PER_CALL):
            chunk = []
            for task in tasks[start : start + PAGES_PER_CALL]:
                if "error" in answers[task.item]:
                    continue
                try:
                    started = time.perf_counter()
                    chunk.append((task, task.pixels()))
                    decode_s += time.perf_counter() - started
                except OcrError as exc:
                    if fail_fast:
                        raise
                    answers[task.item] = {"error": {"code": exc.code, "message": exc.message}}
            chunk = [(task, rgb) for task, rgb in chunk if "error" not in answers[task.item]]
            budget_s = settings.timeout_s * (len(chunk) if per_page_deadline else 1)
            with deadline.scope(budget_s):  # a request's own deadline if there is one
                results, chunk_timings = pipeline.read_many(
                    [rgb for _, rgb in chunk],
                    recognize=options.recognize,
                    min_confidence=options.min_confidence,
                    characters=options.characters,
                    partial=not fail_fast,
                )
            if progress is not None:
                progress(min(start + PAGES_PER_CALL, len(tasks)), len(tasks))
            for stage, ms in chunk_timings.items():
                timings[stage] = round(timings.get(stage, 0.0) + ms, 2)
            for (task, _), result in zip(chunk, results, strict=True):
                if "error" in answers[task.item]:
                    continue  # an earlier page of the same document was refused
                if result.error is not None:  # this image (or page) alone is beyond a bound
                    where = "" if task.page is None else f"page {task.page.page}: "
                    error = {"code": result.error.code, "message": where + result.error.message}
                    answers[task.item] = {"error": error}
                    continue
                metrics.observe_page(len(result.lines), result.models)
                if task.page is None:
                    answers[task.item] = _image_answer(result, options)
                else:
                    page = task.page
                    answers[task.item].setdefault("models", {}).update(result.models)
                    answers[task.item]["pages"].append(
                        {
                            "page": page.page,
                            "width": result.width,
                            "height": result.height,
                            "text_layer": page.text_layer,
                            **_rotation(result),
                            "lines": _lines(result, options),
                        }
                    )
    finally:
        for document in opened:
            document.close()
    for stage in ("decode", "total"):
        timings[stage] = round(timings.get(stage, 0.0) + decode_s * 1000.0, 2)
    metrics.observe_timings(timings)
    return answers, timings


def _lines(result: OcrResult, options: OcrOptions) -> list[dict[str, Any]]:
    if not options.recognize:
        return [{"box": line.box} for line in result.lines]
    return [
        {"text": line.text, "confidence": line.confidence, "box": line.box}
        | ({"chars": [vars(char) for char in line.chars]} if line.chars is not None else {})
        for line in result.lines
    ]


def _image_answer(result: OcrResult, options: OcrOptions) -> dict[str, Any]:
    return {
        "width": result.width,
        "height": result.height,
        **_rotation(result),
        "lines": _lines(result, options),
        "models": result.models,  # the model versions that read it
    }


def _rotation(result: OcrResult) -> dict[str, int]:
    """With OCR_ORIENT on: the clockwise turn applied to read the image (its boxes are as sent)."""
    return {} if result.rotation is None else {"rotation": result.rotation}


def answer_ocr() -> Response:
    """`POST /v1/ocr`: one image, one document, or a batch."""
    pipeline = state().holder.get()
    if is_batch():
        uploads, sources = batch_uploads()
        options = parse_options(sources, state().settings, ignore=("image", "images"))
        answers, timings = read_items(pipeline, uploads, options, fail_fast=False)
        results = [
            {"index": index, **({"name": upload.name} if upload.name else {}), **answer}
            for index, (upload, answer) in enumerate(zip(uploads, answers, strict=True))
        ]
        return jsonify({"request_id": g.request_id, "results": results, "timings_ms": timings})
    data = image_from_request("image")
    options = single_options()
    (answer,), timings = read_items(pipeline, [Upload(None, data)], options, fail_fast=True)
    return jsonify({"request_id": g.request_id, **answer, "timings_ms": timings})


# --- recognition only ------------------------------------------------------------------------------------


def decode_line(data: bytes) -> np.ndarray:
    if documents.is_pdf(data):
        raise UnsupportedImageType("a PDF is not a line image; send documents to /v1/ocr")
    settings = state().settings
    return decode_image(data, settings.max_pixels, settings.max_aspect_ratio)


def recognize_many(
    pipeline: Pipeline, uploads: list[Upload], *, fail_fast: bool
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    answers: list[dict[str, Any]] = [{} for _ in uploads]
    lines: list[tuple[int, np.ndarray]] = []
    for index, upload in enumerate(uploads):
        if upload.error is not None:
            answers[index] = {"error": {"code": upload.error[0], "message": upload.error[1]}}
            continue
        try:
            lines.append((index, decode_line(upload.data or b"")))
        except OcrError as exc:
            if fail_fast:
                raise
            answers[index] = {"error": {"code": exc.code, "message": exc.message}}
    read, timings = pipeline.recognize_lines([rgb for _, rgb in lines]) if lines else ([], {})
    metrics.observe_timings(timings)
    models = {"crnn": pipeline.served_version("crnn")}
    for (index, rgb), (text, confidence) in zip(lines, read, strict=True):
        answers[index] = {
            "text": text,
            "confidence": confidence,
            "width": rgb.shape[1],
            "height": rgb.shape[0],
            "models": models,
        }
    return answers, timings


@v1.post("/v1/recognize")
def recognize() -> Response:
    """Recognition only: line images (crops from the client's own detector) in, text out."""
    pipeline = state().holder.get()
    if is_batch():
        uploads, sources = batch_uploads()
        check_fields(sources, allowed=("image", "images"))
        answers, timings = recognize_many(pipeline, uploads, fail_fast=False)
        results = [
            {"index": index, **({"name": upload.name} if upload.name else {}), **answer}
            for index, (upload, answer) in enumerate(zip(uploads, answers, strict=True))
        ]
        return jsonify({"request_id": g.request_id, "results": results, "timings_ms": timings})
    data = image_from_request("image")
    check_fields(single_sources(), allowed=("image",))
    (answer,), timings = recognize_many(pipeline, [Upload(None, data)], fail_fast=True)
    return jsonify({"request_id": g.request_id, **answer, "timings_ms": timings})
