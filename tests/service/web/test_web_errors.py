"""The one error handler, in-process (Flask test client, numpy-only fake runner, no TensorFlow).

The outcomes a real backend cannot be made to produce on demand: an unexpected exception (500
without a traceback, logged with the request id), a backend timeout (504), a backend that goes away
after start (503).
"""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest
from ocr_service.app import create_app
from ocr_service.errors import BackendTimeout, BackendUnavailable
from ocr_service.settings import load_settings
from ocrstack_testing.fakes import DETECTORS, no_lines
from ocrstack_testing.web import encode
from PIL import Image


class FakeRunner:
    """Answers the warm-up with empty outputs of the right shapes, then does what `failure` says."""

    def __init__(self) -> None:
        self.failure: Exception | None = None

    def predict(self, model, inputs):
        if self.failure is not None:
            raise self.failure
        if model in DETECTORS:
            return no_lines(model, inputs)
        n = len(inputs["widths"])
        return {
            "text": np.array([""] * n, dtype=object),
            "confidence": np.ones(n, np.float32),
            "labels": np.full((n, 1), -1, np.int32),
        }

    def ready(self) -> bool:
        return self.failure is None

    def close(self) -> None:
        pass


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture
def client(runner):
    app = create_app(load_settings({"OCR_MODEL_DIR": "/nonexistent"}), runner_factory=lambda settings: runner)
    return app.test_client()


IMAGE = encode(Image.new("RGB", (64, 48), "white"))


def test_blank_page_reads_as_no_lines(client):
    response = client.post("/v1/ocr", data={"image": (io.BytesIO(IMAGE), "a.png")})
    assert response.status_code == 200
    assert response.get_json()["lines"] == []


def test_unexpected_exception_is_a_500_without_traceback_and_is_logged_with_the_request_id(
    client, runner, caplog
):
    client.get("/readyz")  # warm up with a healthy runner
    runner.failure = RuntimeError("secret detail /srv/models/ctpn")
    with caplog.at_level(logging.ERROR, logger="ocr_service.app"):
        response = client.post(
            "/v1/ocr", data=IMAGE, headers={"Content-Type": "image/png", "X-Request-ID": "r-500"}
        )
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"]["code"] == "internal_error"
    assert "r-500" in body["error"]["message"]
    assert "secret" not in response.get_data(as_text=True) and "Traceback" not in response.get_data(
        as_text=True
    )
    (record,) = [r for r in caplog.records if r.name == "ocr_service.app"]
    assert record.exc_info and "secret detail" in str(record.exc_info[1])
    assert record.request_id == "r-500"


def test_backend_timeout_is_504(client, runner):
    client.get("/readyz")
    runner.failure = BackendTimeout("ctpn took longer than 10 s", detail="TF Serving 10.1.2.3:8500")
    response = client.post("/v1/ocr", data=IMAGE, headers={"Content-Type": "image/png"})
    assert response.status_code == 504
    assert response.get_json()["error"] == {
        "code": "backend_timeout",
        "message": "ctpn took longer than 10 s",
    }


def test_errors_and_readyz_keep_internal_addresses_and_paths_in_the_log(client, runner, caplog):
    """Issue 13 item 8: the model server's address and the host's paths are the operator's (the
    log), not the client's (the answer, /readyz)."""
    client.get("/readyz")
    runner.failure = BackendUnavailable(
        "the model server is unavailable", detail="TF Serving 10.1.2.3:8500: connection refused"
    )
    with caplog.at_level(logging.INFO, logger="ocr_service"):
        response = client.post("/v1/ocr", data=IMAGE, headers={"Content-Type": "image/png"})
    assert response.status_code == 503
    assert response.get_json()["error"]["message"] == "the model server is unavailable"
    assert "10.1.2.3" not in response.get_data(as_text=True)
    assert any("10.1.2.3:8500: connection refused" in r.getMessage() for r in caplog.records)


def test_backend_gone_after_start_is_503_and_readyz_says_so(client, runner):
    assert client.get("/readyz").status_code == 200
    runner.failure = BackendUnavailable("TF Serving 127.0.0.1:8500 unavailable: connection refused")
    response = client.post("/v1/ocr", data=IMAGE, headers={"Content-Type": "image/png"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "backend_unavailable"
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["reason"] == "the model backend reports that the models are not available"
    runner.failure = None
    assert client.get("/readyz").status_code == 200
