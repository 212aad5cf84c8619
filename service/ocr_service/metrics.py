"""Prometheus metrics, one set per process, summed over gunicorn workers at scrape time.

Under gunicorn, `gunicorn.conf.py` points PROMETHEUS_MULTIPROC_DIR at a fresh directory before any
worker imports this module, so every worker writes its samples there and `/metrics` (served by
whichever worker the scrape lands on) reports the whole service, not one worker's share.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REQUESTS = Counter(
    "ocr_http_requests_total",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "ocr_http_request_duration_seconds",
    "Time from request received to response ready, by route template and status code.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
STAGE = Histogram(
    "ocr_pipeline_stage_seconds",
    "Time spent in each pipeline stage (OcrResult.timings_ms), per OCR request.",
    ["stage"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
LINES = Histogram(
    "ocr_lines_per_image",
    "Text lines found per successfully read image.",
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200),
)
MODEL_VERSIONS = Counter(
    "ocr_model_version_pages_total",
    "Pages read, by model and the version of it that read them (a rollout shows as a new version).",
    ["model", "version"],
)
IN_FLIGHT = Gauge(
    "ocr_http_requests_in_flight",
    "Requests being handled right now, over all workers.",
    multiprocess_mode="livesum",
)


def observe_timings(timings_ms: dict[str, float]) -> None:
    for stage, ms in timings_ms.items():
        STAGE.labels(stage=stage).observe(max(float(ms), 0.0) / 1000.0)


def observe_page(lines: int, models: Mapping[str, str | None]) -> None:
    """One page read: its number of lines and the model versions that read it."""
    LINES.observe(lines)
    for model, version in models.items():
        MODEL_VERSIONS.labels(model=model, version=version or "unknown").inc()


def render() -> tuple[bytes, str]:
    """The exposition text for every worker (multiprocess mode) or this process."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and os.path.isdir(directory):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
