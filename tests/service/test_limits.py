"""Issue 13 in-process: the bounds on one request's work, its deadline, and how pages are converted.

Numpy-only fake runners (no TensorFlow), so each case costs milliseconds; the same behaviour
through the real gunicorn is in web/test_web_hostile.py.
"""

from __future__ import annotations

import io
import re
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import yaml
from ctpn.connector import successors
from ocr_service import deadline
from ocr_service import pipeline as pipeline_module
from ocr_service.app import create_app
from ocr_service.errors import BackendError, BackendTimeout, UnprocessableImage
from ocr_service.imageio import decode_image
from ocr_service.pipeline import Pipeline, PipelineConfig
from ocr_service.runners import TFServingGrpcRunner
from ocr_service.settings import Settings, SettingsError, load_settings
from ocrstack_testing.fakes import DETECTORS, no_lines
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


class SlowRunner:
    """The detector finds nothing; crnn takes `delay_s` per call, reading each line as 'x'. Records
    the deadlines it saw."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.deadlines: list[deadline.Deadline | None] = []
        self.calls = 0

    def predict(self, model, inputs):
        self.deadlines.append(deadline.current())
        self.calls += 1
        if model in DETECTORS:
            return no_lines(model, inputs)
        time.sleep(self.delay_s)
        n = len(inputs["widths"])
        return {"text": np.array(["x"] * n, dtype=object), "confidence": np.ones(n, np.float32)}

    def ready(self) -> bool:
        return True

    def close(self) -> None:
        pass


def quads(count: int) -> list[np.ndarray]:
    top = [10 + 20 * i for i in range(count)]
    return [np.array([[10, y], [200, y], [200, y + 16], [10, y + 16]], np.float32) for y in top]


def page() -> np.ndarray:
    return np.full((400, 300, 3), 255, np.uint8)


def test_a_page_with_many_lines_cannot_outlive_its_deadline(monkeypatch):
    runner = SlowRunner(delay_s=0.2)
    pipe = Pipeline(runner, PipelineConfig(max_lines_per_call=1, deadline_s=0.5))
    monkeypatch.setattr(pipe, "_detect", lambda rgb, clock, models: quads(12))  # 12 batches x 0.2 s = 2.4 s
    started = time.monotonic()
    with pytest.raises(BackendTimeout, match=r"0.5 s deadline \(OCR_TIMEOUT_S\) at line batch"):
        pipe.read(page())
    assert time.monotonic() - started < 0.9
    assert runner.calls <= 4


def test_more_lines_than_the_limit_is_422_before_any_crop(monkeypatch):
    runner = SlowRunner()
    pipe = Pipeline(runner, PipelineConfig(max_lines=5))
    monkeypatch.setattr(pipe, "_detect", lambda rgb, clock, models: quads(6))
    with pytest.raises(
        UnprocessableImage, match=r"6 text lines; the limit is 5 per request \(OCR_MAX_LINES\)"
    ):
        pipe.read(page())
    assert runner.calls == 0


def test_the_page_is_converted_to_grey_once_not_once_per_line(monkeypatch):
    seen = []
    real = pipeline_module.crop_line
    monkeypatch.setattr(
        pipeline_module, "crop_line", lambda image, quad: seen.append(image) or real(image, quad)
    )
    pipe = Pipeline(SlowRunner())
    monkeypatch.setattr(pipe, "_detect", lambda rgb, clock, models: quads(8))
    assert len(pipe.read(page()).lines) == 8
    assert len(seen) == 8 and all(image is seen[0] for image in seen) and seen[0].ndim == 2


@pytest.mark.parametrize(("width", "height"), [(12, 3000), (3000, 12)])
def test_absurd_aspect_ratio_is_refused_from_arrays_and_files(width, height):
    pipe = Pipeline(SlowRunner())
    with pytest.raises(UnprocessableImage, match="OCR_MAX_ASPECT_RATIO"):
        pipe.read(np.full((height, width, 3), 255, np.uint8))
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, "PNG")
    with pytest.raises(UnprocessableImage, match=f"{width}x{height}"):
        decode_image(buffer.getvalue(), 40_000_000, 50.0)
    decode_image(buffer.getvalue(), 40_000_000, 1000.0)  # the operator's bound, not a fixed one


def test_a_16_bit_page_converts_without_a_float64_copy():
    buffer = io.BytesIO()
    Image.fromarray(np.full((1500, 2000), 40000, np.uint16)).save(buffer, "PNG")
    tracemalloc.start()
    try:
        rgb = decode_image(buffer.getvalue(), 40_000_000, 50.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rgb.dtype == np.uint8 and rgb.shape == (1500, 2000, 3) and int(rgb[0, 0, 0]) == 40000 >> 8
    # output 9 MB + one uint16 page 6 MB; a float64 copy alone is 24 MB
    assert peak < 20e6, f"peak {peak / 1e6:.1f} MB"


def test_text_on_a_transparent_palette_is_composited_on_white():
    image = Image.new("P", (40, 20), 0)
    image.putpalette([0, 0, 0, 0, 0, 0])
    image.paste(1, (10, 5, 30, 15))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=0)  # index 0 (black) is transparent, index 1 black ink
    rgb = decode_image(buffer.getvalue(), 40_000_000, 50.0)
    assert rgb[0, 0].tolist() == [255, 255, 255] and rgb[10, 20].tolist() == [0, 0, 0]


def grid_proposals(rows: int, cols: int) -> np.ndarray:
    """Proposals of `rows` lines of small print, each `cols` cells (16 px) long."""
    ys, xs = np.meshgrid(np.arange(rows) * 16, np.arange(cols) * 16, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel(), xs.ravel() + 15, ys.ravel() + 10], 1).astype(float)


def test_the_line_connector_is_fast_and_needs_no_square_matrix_for_many_proposals():
    # 10 000 proposals (a 1600 px page of small print): 16 s and a 100 MB M x M graph before issue 13
    boxes = grid_proposals(100, 100)
    started = time.monotonic()
    succ = successors(boxes, np.full(len(boxes), 0.95))
    elapsed = time.monotonic() - started
    assert (succ >= 0).sum() == 100 * 99  # every row is one chain of 100 proposals
    assert elapsed < 8, f"{elapsed:.1f} s"
    boxes = grid_proposals(60, 60)  # memory, under tracemalloc (slow): 3600 proposals, M x M = 13 MB
    tracemalloc.start()
    try:
        successors(boxes, np.full(len(boxes), 0.95))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4e6, f"peak {peak / 1e6:.1f} MB"


def test_every_request_carries_one_deadline_down_to_the_model_calls():
    runner = SlowRunner()
    app = create_app(
        load_settings({"OCR_MODEL_DIR": "/x", "OCR_TIMEOUT_S": "7.5"}), runner_factory=lambda s: runner
    )
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    runner.deadlines.clear()
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(buffer, "PNG")
    assert (
        client.post("/v1/ocr", data=buffer.getvalue(), headers={"Content-Type": "image/png"}).status_code
        == 200
    )
    assert runner.deadlines and all(d is not None and d.budget_s == 7.5 for d in runner.deadlines)
    assert deadline.current() is None  # closed with the request


class _RpcError(Exception):
    def __init__(self, code) -> None:
        self._code = code

    def code(self):
        return self._code

    def details(self) -> str:
        return "OOM when allocating tensor with shape[64,32,4000,64]"


def test_tfserving_resource_exhausted_and_invalid_argument_are_500_not_503():
    import grpc

    runner = TFServingGrpcRunner("127.0.0.1:1", 1.0)
    for code in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INVALID_ARGUMENT):
        exc = runner._error(_RpcError(code), "crnn", 1.0)
        assert isinstance(exc, BackendError) and exc.http_status == 500, code
        assert code.name in exc.message and "OOM" in exc.detail  # the backend's words: the log's
        assert "127.0.0.1" not in exc.message
    assert runner._error(_RpcError(grpc.StatusCode.UNAVAILABLE), "crnn", 1.0).http_status == 503
    assert runner._error(_RpcError(grpc.StatusCode.DEADLINE_EXCEEDED), "crnn", 1.0).http_status == 504


def test_the_request_deadline_ends_before_the_load_balancer_and_gunicorn_give_up():
    lb = yaml.safe_load((REPO / "roles/ocr_lb/defaults/main.yml").read_text())
    conf = (REPO / "service/ocr_service/gunicorn.conf.py").read_text()
    graceful = float(re.search(r"^graceful_timeout = (\d+)", conf, re.M).group(1))
    assert Settings.timeout_s < lb["ocr_lb_timeout_server_s"], "HAProxy would cut the answer off first"
    assert Settings.timeout_s < graceful, "a graceful stop would kill requests still within their deadline"


def test_the_new_limits_are_settings_with_clear_errors():
    settings = load_settings(
        {"OCR_MAX_ASPECT_RATIO": "200", "OCR_MAX_LINES": "1000", "OCR_SECURITY_HEADERS": "off"}
    )
    assert (settings.max_aspect_ratio, settings.max_lines, settings.security_headers) == (200.0, 1000, False)
    for name, value in [
        ("OCR_MAX_LINES", "0"),
        ("OCR_MAX_ASPECT_RATIO", "1"),
        ("OCR_SECURITY_HEADERS", "maybe"),
    ]:
        with pytest.raises(SettingsError, match=name):
            load_settings({name: value})


def test_security_headers_can_be_turned_off_for_a_proxy_that_sets_its_own():
    for value, expected in (("true", "nosniff"), ("false", None)):
        app = create_app(
            load_settings({"OCR_MODEL_DIR": "/x", "OCR_SECURITY_HEADERS": value}), lambda s: SlowRunner()
        )
        assert app.test_client().get("/healthz").headers.get("X-Content-Type-Options") == expected


class ConcurrentDetector(SlowRunner):
    """The detector takes `delay_s` per call; records how many of its calls ran at once, at most."""

    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.detector_delay_s = delay_s
        self.running = self.most = 0
        self.lock = threading.Lock()

    def predict(self, model, inputs):
        if model not in DETECTORS:
            return super().predict(model, inputs)
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.detector_delay_s)
            return super().predict(model, inputs)
        finally:
            with self.lock:
                self.running -= 1


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_the_pages_of_one_request_are_detected_page_threads_at_once(threads):
    runner = ConcurrentDetector(delay_s=0.1)
    pipe = Pipeline(runner, PipelineConfig(page_threads=threads))
    started = time.monotonic()
    results, timings = pipe.read_many([page() for _ in range(6)])
    elapsed = time.monotonic() - started
    assert runner.most == threads and runner.calls == 6
    assert [(r.width, r.height) for r in results] == [(300, 400)] * 6
    assert all(d is not None and d.budget_s == Settings.timeout_s for d in runner.deadlines)
    assert elapsed >= 0.6 / threads - 0.05 and timings["total"] >= 1000 * (0.6 / threads - 0.05)
    assert timings["detect_model"] >= 590  # each image's own stages, summed over the threads


def test_page_threads_keep_the_request_deadline_and_start_no_page_after_it():
    runner = ConcurrentDetector(delay_s=0.3)
    pipe = Pipeline(runner, PipelineConfig(page_threads=2, deadline_s=0.5))
    started = time.monotonic()
    with pytest.raises(BackendTimeout, match=r"0.5 s deadline \(OCR_TIMEOUT_S\) at detection of image"):
        pipe.read_many([page() for _ in range(12)])
    assert time.monotonic() - started < 1.0  # not 12 x 0.3 / 2 = 1.8 s
    assert runner.calls <= 4


def test_page_threads_come_from_the_setting():
    assert Settings().page_threads == 2
    assert load_settings({"OCR_PAGE_THREADS": "4"}).page_threads == 4
    assert PipelineConfig.from_settings(load_settings({"OCR_PAGE_THREADS": "1"})).page_threads == 1
    with pytest.raises(SettingsError, match="OCR_PAGE_THREADS"):
        load_settings({"OCR_PAGE_THREADS": "0"})
