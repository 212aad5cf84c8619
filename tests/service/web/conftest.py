"""Fixtures of the web tests: the tiny models (or the bundled ones) and one shared gunicorn.

See ocrstack_testing.web for how the service is started and which models it serves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from ocrstack_testing.web import (
    BUNDLED_MODELS,
    USE_BUNDLED,
    Gunicorn,
    bar_sample,
    encode,
    newest_versions,
    read_text,
    text_sample,
)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    if USE_BUNDLED:
        return BUNDLED_MODELS
    root = tmp_path_factory.mktemp("web_tiny_models")
    # A subprocess: the test process itself never imports TensorFlow.
    subprocess.run(
        [sys.executable, "-m", "ocrstack_testing.tiny_models", str(root)],
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        timeout=300,
    )
    return root


@pytest.fixture(scope="session")
def served_versions(model_dir) -> dict[str, str]:
    """The version directories an unpinned service reads with: the newest of each model."""
    return newest_versions(model_dir)


@pytest.fixture(scope="session")
def server(model_dir, tmp_path_factory) -> Iterator[Gunicorn]:
    """2 workers x 2 threads in single mode, default limits (10 MiB, 40 Mpx), JSON logs."""
    service = Gunicorn(
        {
            "OCR_MODE": "single",
            "OCR_MODEL_DIR": str(model_dir),
            "OCR_WORKERS": "2",
            "OCR_THREADS": "2",
            "OCR_LOG_FORMAT": "json",
        },
        tmp_path_factory.mktemp("gunicorn"),
    )
    service.start()
    try:
        service.wait_until("/readyz", 200)
        service.wait_workers_ready(2)  # both workers, not just the one that answered
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def make_sample():
    """make_sample(variant) -> a Sample; different variants hold different content."""
    if USE_BUNDLED:
        return text_sample
    return lambda variant=0: bar_sample(bars=3 + variant)


@pytest.fixture
def service_survives(server, make_sample):
    """After a hostile request: the same workers are alive and the next image reads right."""
    before = server.workers()
    assert len(before) == 2
    yield
    sample = make_sample(4)
    response = requests.post(
        server.url + "/v1/ocr", files={"image": ("next.png", encode(sample.image))}, timeout=60
    )
    assert response.status_code == 200, response.text
    assert sample.matches(read_text(response.json()))
    assert server.workers() == before, "a worker died or was replaced"


@pytest.fixture(scope="session")
def oriented_server(tmp_path_factory) -> Iterator[Gunicorn]:
    """1 worker x 2 threads with OCR_ORIENT=on over the bundled models (orient included)."""
    if not (BUNDLED_MODELS / "orient" / "1" / "saved_model.pb").is_file() or not USE_BUNDLED:
        pytest.skip("needs the bundled models, models/orient/1 included")
    service = Gunicorn(
        {"OCR_MODE": "single", "OCR_MODEL_DIR": str(BUNDLED_MODELS), "OCR_ORIENT": "on",
         "OCR_WORKERS": "1", "OCR_THREADS": "2", "OCR_TIMEOUT_S": "30"},
        tmp_path_factory.mktemp("gunicorn_oriented"),
    )  # fmt: skip
    service.start()
    try:
        service.wait_until("/readyz", 200)
        yield service
    finally:
        service.stop()
