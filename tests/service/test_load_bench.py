"""bench/load.py: exact statistics, real concurrency against a local stub, loopback-only by default."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

LOAD = Path(__file__).resolve().parents[2] / "bench" / "load.py"


@pytest.fixture(scope="module")
def load():
    spec = importlib.util.spec_from_file_location("bench_load", LOAD)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_percentiles_are_nearest_rank(load):
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert [load.percentile(values, q) for q in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert load.percentile([0.3], 99) == 0.3
    assert math.isnan(load.percentile([], 50))


def test_summary_counts_only_successes_as_throughput(load):
    result = load.summarize("single", 4, [0.2, 0.1, 0.4, 0.3], errors=1, seconds=2.0)
    assert (result.requests, result.errors, result.images_per_s) == (5, 1, 2.0)
    assert (result.p50_ms, result.p95_ms, result.p99_ms) == (200.0, 400.0, 400.0)


def test_only_loopback_hosts_count_as_local(load):
    assert all(load.is_loopback(h) for h in ("localhost", "127.0.0.1", "127.1.2.3", "::1"))
    assert not any(load.is_loopback(h) for h in ("example.com", "10.0.0.5", "0.0.0.0"))


class _Stub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    in_flight = 0
    max_in_flight = 0
    png_posts = 0

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.max_in_flight = max(cls.max_in_flight, cls.in_flight)
            is_png = body.startswith(b"\x89PNG") and self.headers["Content-Type"] == "image/png"
            cls.png_posts += is_png
        time.sleep(0.02)
        with cls.lock:
            cls.in_flight -= 1
        status = 500 if self.path == "/fail" else 200 if is_png else 415
        payload = b'{"lines": []}'
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def stub_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(LOAD), *args], capture_output=True, text=True, timeout=60)


def test_drives_the_requested_concurrency_and_reports_each_level(stub_url):
    _Stub.max_in_flight = _Stub.png_posts = 0
    run = _run("--url", f"{stub_url}/v1/ocr", "--concurrency", "1", "4", "--requests", "12", "--json")
    assert run.returncode == 0, run.stderr
    levels = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(r["concurrency"], r["requests"], r["errors"]) for r in levels] == [(1, 12, 0), (4, 12, 0)]
    assert all(r["p50_ms"] >= 20 and r["p99_ms"] >= r["p95_ms"] >= r["p50_ms"] for r in levels)
    assert levels[0]["images_per_s"] <= 50  # one client, 20 ms each
    assert _Stub.max_in_flight == 4
    assert _Stub.png_posts == 2 * 12 + 2 * 2  # two levels plus two warmup requests each


def test_failed_requests_are_counted_as_errors(stub_url):
    run = _run("--url", f"{stub_url}/fail", "--concurrency", "2", "--requests", "6", "--warmup", "0")
    assert run.returncode == 0, run.stderr
    header, row = run.stdout.splitlines()
    assert header.split()[:4] == ["mode", "conc", "reqs", "errors"]
    assert row.split()[:4] == ["2", "6", "6", "0.00"]


def test_refuses_a_remote_url_without_allow_remote():
    run = _run("--url", "http://example.com/v1/ocr", "--requests", "1")
    assert run.returncode == 2
    assert "not a loopback host" in run.stderr


def test_batch_body_carries_n_image_fields_and_counts_n_images_per_request(load):
    import io

    from werkzeug.wrappers import Request

    body, content_type = load.multipart(b"\x89PNG fake", "image/png", 3)
    request = Request.from_values(
        input_stream=io.BytesIO(body), content_type=content_type, content_length=len(body), method="POST"
    )
    assert [f.read() for f in request.files.getlist("image")] == [b"\x89PNG fake"] * 3
    result = load.summarize("single x3", 1, [0.5, 0.5], errors=0, seconds=1.0, images_per_request=3)
    assert result.images_per_s == 6.0


def test_document_body_is_a_pdf_of_n_pages_of_the_image_at_150_dpi(load):
    import io

    import pypdfium2 as pdfium
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (300, 150), "white").save(buffer, format="PNG")
    pdf = pdfium.PdfDocument(load.pdf_of(buffer.getvalue(), 6))
    try:
        assert len(pdf) == 6
        assert [tuple(round(v) for v in pdf.get_page_size(i)) for i in range(6)] == [(144, 72)] * 6
    finally:
        pdf.close()
