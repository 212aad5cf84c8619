"""The Flask application factory: settings in, a WSGI app with the API, the page and one error handler out.

Every failure leaves as `{"error": {"code", "message"}, "request_id"}` with an honest HTTP status:
`OcrError`s with their own status, werkzeug's HTTP errors (404, 405, 413 from MAX_CONTENT_LENGTH)
in the same shape, anything else as a 500 whose traceback goes to the log, never to the client.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
from collections.abc import Callable

from flask import Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from . import deadline, hardening, metrics
from .errors import OcrError
from .holder import PipelineHolder
from .pipeline import PipelineConfig
from .runners import ModelRunner
from .settings import Settings
from .state import ServiceState, attach, state
from .state import of as state_of

log = logging.getLogger("ocr_service.app")

RunnerFactory = Callable[[Settings], ModelRunner]
REQUEST_ID_HEADER = "X-Request-ID"
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "image_too_large",
    415: "unsupported_media_type",
}


def default_runner_factory(settings: Settings) -> ModelRunner:
    """The one place where OCR_MODE picks a runner; the pipeline is the same in both modes."""
    from . import runners

    models = settings.models
    if settings.mode == "single":
        return runners.SavedModelRunner(
            settings.model_dir,
            versions=settings.model_versions,
            models=models,
            gpu_memory_mib=settings.gpu_memory_mib,
        )
    if settings.tfserving_protocol == "rest":
        return runners.TFServingRestRunner(
            settings.tfserving_rest, settings.timeout_s, versions=settings.model_versions, models=models
        )
    return runners.TFServingGrpcRunner(
        settings.tfserving_grpc, settings.timeout_s, versions=settings.model_versions, models=models
    )


def create_app(settings: Settings, runner_factory: RunnerFactory | None = None) -> Flask:
    """Build the app. Models are not loaded here: the holder loads them in the worker, after the fork."""
    app = Flask(__name__)
    hardening.configure(app, settings)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    factory = runner_factory or default_runner_factory
    config = PipelineConfig.from_settings(settings)
    attach(app, ServiceState(settings, PipelineHolder(lambda: factory(settings), config=config)))

    from .api import api
    from .jobs import jobs
    from .legacy import legacy
    from .page import page
    from .v1 import v1

    app.register_blueprint(api)
    app.register_blueprint(v1)
    app.register_blueprint(legacy)
    app.register_blueprint(jobs)
    app.register_blueprint(page)
    app.before_request(_start_request)
    app.after_request(_finish_request)
    if settings.security_headers:
        app.after_request(hardening.add_security_headers)
    app.teardown_request(_leave_request)
    app.register_error_handler(Exception, handle_error)
    if settings.jobs_dir is not None:
        # Without --preload (ocr_service runs none) the app is built in each gunicorn worker, after
        # the fork: every worker runs its own job thread (ocr_service.jobs).
        from .jobs import start_runner

        start_runner(settings, state_of(app).holder)
    return app


def _start_request() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _CLIENT_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.started = time.perf_counter()
    g.in_flight = True
    metrics.IN_FLIGHT.inc()
    # The request's one deadline (OCR_TIMEOUT_S from its arrival), seen by every model call it makes.
    timeout_s = state().settings.timeout_s
    g.deadline_token = deadline.start(timeout_s)
    hardening.bound_body_reads(request.environ, timeout_s)


def _finish_request(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("started")
    if started is not None:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        method = request.method if request.method in _METHODS else "other"  # bounded label values
        labels = {"route": route, "method": method, "status": str(response.status_code)}
        metrics.REQUESTS.labels(**labels).inc()
        metrics.LATENCY.labels(**labels).observe(time.perf_counter() - started)
    return response


def _leave_request(_exc: BaseException | None) -> None:
    if g.pop("in_flight", False):
        metrics.IN_FLIGHT.dec()
    token = g.pop("deadline_token", None)
    if token is not None:
        with contextlib.suppress(ValueError):  # set in another context: nothing to reset here
            deadline.end(token)


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    body = {"error": {"code": code, "message": message}, "request_id": g.get("request_id")}
    return jsonify(body), status


def _log_extra() -> dict[str, object]:
    return {"request_id": g.get("request_id")}


def handle_error(exc: Exception) -> tuple[Response, int] | Response:
    """The one error handler: every failure becomes the same JSON shape with an honest status."""
    if isinstance(exc, OcrError):
        level = logging.WARNING if exc.http_status >= 500 else logging.INFO
        log.log(
            level,
            "%s %s -> %d %s: %s",
            *(request.method, request.path, exc.http_status, exc.code, exc),  # str(exc): with the detail
            extra=_log_extra(),
        )
        return error_response(exc.http_status, exc.code, exc.message)
    if hardening.body_timed_out(exc):
        timeout_s = state().settings.timeout_s
        log.info("%s %s -> 408: the body stalled", request.method, request.path, extra=_log_extra())
        return error_response(
            408, "request_timeout", f"the request body stopped arriving for {timeout_s:g} s (OCR_TIMEOUT_S)"
        )
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        code = _HTTP_CODES.get(status) or re.sub(r"[^a-z0-9]+", "_", (exc.name or "error").lower()).strip("_")
        message = exc.description or exc.name
        if isinstance(exc, RequestEntityTooLarge):
            message = hardening.too_large_message(current_app, exc)
        response, status = error_response(status, code, message)
        allow = exc.get_response().headers.get("Allow")
        if allow:
            response.headers["Allow"] = allow
        return response, status
    log.exception("unhandled error on %s %s", request.method, request.path, extra=_log_extra())
    return error_response(
        500,
        "internal_error",
        f"internal error; the operator can find it in the logs under request id {g.get('request_id')}",
    )
