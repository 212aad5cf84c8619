"""Issue 13's hostile-input battery against the real gunicorn (the shared `server`, default limits).

Every case: the answer (status, JSON error code, a message that names the limit hit), how long it
took (a bound per case), and that the workers survive it (the autouse fixture, as in
test_web_images.py). Memory is bounded by what the service refuses before decoding; the worst
cases it does decode are measured by bench/hostile_inputs.py (figures in service/README.md).
The whole file runs in well under a minute on the 2-core CI machine.
"""

from __future__ import annotations

import base64
import http.client
import io
import socket
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import requests
from ocrstack_testing.web import encode, read_text
from PIL import Image, ImageDraw

# Peak RSS a worker may reach over the whole battery: ~0.65 GiB with the bundled models loaded,
# plus the largest page the limits admit (bench/hostile_inputs.py).
MAX_WORKER_PEAK_RSS = 2 * 1024**3


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


@pytest.fixture(autouse=True)
def service_survives(service_survives, server):
    """conftest's check (same workers, the next image reads right), after a peak-RSS bound."""
    before = server.workers()
    yield
    peaks = {pid: peak_rss(pid) for pid in before}
    assert max(peaks.values()) < MAX_WORKER_PEAK_RSS, f"worker peak RSS {peaks}"


def post(server, data: bytes, name: str = "upload.bin", timeout: float = 60) -> requests.Response:
    return requests.post(server.url + "/v1/ocr", files={"image": (name, data)}, timeout=timeout)


def timed(call, limit_s: float) -> requests.Response:
    started = time.monotonic()
    response = call()
    elapsed = time.monotonic() - started
    assert elapsed < limit_s, f"took {elapsed:.1f} s (bound {limit_s} s)"
    return response


def error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == code, body
    assert "Traceback" not in response.text
    return body["error"]["message"]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def white_png(width: int, height: int) -> bytes:
    """A real, complete white 8-bit grey PNG of any shape, built row by row (a few KB)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * width
    block = max(1, 4_000_000 // len(row))  # rows per compress call
    chunks = [compressor.compress(row * min(block, height - y)) for y in range(0, height, block)]
    body = b"".join(chunks) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")
    )


# --- shape: bounded work whatever the aspect ratio (items 1, 4) ------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(12, 300_000), (300_000, 12), (8, 5_000_000)])
def test_absurd_aspect_ratio_is_422_before_decoding(server, width, height):
    data = white_png(width, height)
    assert len(data) < 100_000 and width * height <= 40_000_000  # small, and under the pixel limit
    message = error(timed(lambda: post(server, data, "strip.png"), 3.0), 422, "unprocessable_image")
    assert f"{width}x{height}" in message and "OCR_MAX_ASPECT_RATIO" in message


def dense_page() -> bytes:
    """~470 short lines on 1400x1400: more than OCR_MAX_LINES (256)."""
    image = Image.new("L", (1400, 1400), 255)
    draw = ImageDraw.Draw(image)
    for y in range(8, 1380, 20):
        for x in range(8, 1280, 160):
            for k in range(6):
                draw.rectangle([x + k * 16, y, x + k * 16 + 9, y + 11], fill=0)
    return encode(image)


def test_a_page_with_more_lines_than_the_limit_is_422_in_bounded_time(server):
    # refused before the lines are fitted, cropped or read (before issue 13 a page like it took
    # ~58 s and 250 MB).
    message = error(timed(lambda: post(server, dense_page(), "dense.png"), 15.0), 422, "unprocessable_image")
    assert "OCR_MAX_LINES" in message and "the limit is 256" in message


def test_in_a_batch_the_strip_and_the_dense_page_fail_alone_and_the_rest_is_read(server, make_sample):
    # issue 14: a batch image beyond the shape or line bounds gets its own 422-coded error; the
    # other images of the batch are read, in bounded time.
    sample = make_sample(2)
    files = [
        ("image", ("strip.png", white_png(12, 3000))),
        ("image", ("dense.png", dense_page())),
        ("image", ("ok.png", encode(sample.image))),
    ]
    response = timed(lambda: requests.post(server.url + "/v1/ocr", files=files, timeout=60), 20.0)
    assert response.status_code == 200, response.text[:300]
    strip, dense, ok = response.json()["results"]
    assert strip["error"]["code"] == dense["error"]["code"] == "unprocessable_image"
    assert "12x3000" in strip["error"]["message"] and "OCR_MAX_ASPECT_RATIO" in strip["error"]["message"]
    assert "OCR_MAX_LINES" in dense["error"]["message"] and "lines" not in dense
    assert sample.matches(read_text(ok)), read_text(ok)


# --- bombs of every shape, truncated and polyglot files --------------------------------------------------


def gif_header(width: int, height: int) -> bytes:
    screen = struct.pack("<HHBBB", width, height, 0, 0, 0)
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + image + b"\x3b"


def tiff_header(width: int, height: int) -> bytes:
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, width * height)]  # fmt: skip
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00\x00\x00\x00"


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bomb.png", png_header(65535, 65535)),
        ("bomb.gif", gif_header(65535, 65535)),
        ("bomb.tiff", tiff_header(60_000, 60_000)),
    ],
)
def test_decompression_bombs_of_every_format_are_413_from_the_header(server, name, data):
    message = error(timed(lambda: post(server, data, name), 3.0), 413, "image_too_large")
    assert "OCR_MAX_PIXELS" in message


def test_a_highly_compressed_bomb_under_the_byte_limit_is_413(server):
    # 40 Mpx + 1 of zeros compresses to ~40 KB: refused from the header, never inflated.
    data = white_png(8000, 5001)
    assert len(data) < 200_000
    assert "40008000" in error(timed(lambda: post(server, data, "zip.png"), 5.0), 413, "image_too_large")


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("cut.jpg", encode(Image.new("RGB", (300, 200), "white"), "JPEG")[:300], 400, "invalid_image"),
        ("cut.gif", encode(Image.new("P", (300, 200)), "GIF")[:20], 400, "invalid_image"),
        ("pdf.png", b"\x89PNG\r\n\x1a\n%PDF-1.7\n1 0 obj<<>>endobj\n", 400, "invalid_image"),
        ("html.gif", b"GIF89a<script>alert(1)</script>" + b"\0" * 64, 400, "invalid_image"),
        ("page.html", b"<!doctype html><svg onload=alert(1)>", 415, "unsupported_media_type"),
        ("zip.png", b"PK\x03\x04" + b"\0" * 200, 415, "unsupported_media_type"),
    ],
)
def test_truncated_and_polyglot_files_are_clear_4xx(server, name, data, status, code):
    error(timed(lambda: post(server, data, name), 3.0), status, code)


# --- JSON and form bodies (item 2) -----------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"image": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"])
def test_deeply_nested_json_is_400_not_500(server, body):
    response = timed(
        lambda: requests.post(
            server.url + "/v1/ocr", data=body, headers={"Content-Type": "application/json"}, timeout=30
        ),
        3.0,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"


def padded_png(image: Image.Image, size: int) -> bytes:
    """A valid PNG of `image` carrying `size` bytes of an ancillary chunk (readers skip it)."""
    data = encode(image)
    return data[:33] + png_chunk(b"zzZz", b"\0" * size) + data[33:]


def test_base64_in_a_form_field_works_up_to_the_request_limit(server, make_sample):
    # `curl -F image=<file.b64`: a text field. Flask >= 3.1 caps text fields at 500 000 bytes unless
    # MAX_FORM_MEMORY_SIZE is set; this field is 5.6 MB (a 4.2 MB image).
    sample = make_sample(2)
    text = base64.b64encode(padded_png(sample.image, 4_200_000)).decode()
    assert len(text) > 5_000_000
    response = requests.post(server.url + "/v1/ocr", files={"image": (None, text)}, timeout=60)
    assert response.status_code == 200, response.text[:300]
    assert sample.matches(read_text(response.json()))


def test_too_many_form_parts_is_413_naming_that_limit(server):
    files = [(f"f{i}", (None, "x")) for i in range(40)]
    message = error(requests.post(server.url + "/v1/ocr", files=files, timeout=30), 413, "image_too_large")
    assert "parts" in message


def test_a_body_over_the_limit_names_the_body_limit(server):
    message = error(post(server, b"\0" * (15 * 1024 * 1024)), 413, "image_too_large")
    assert "OCR_MAX_UPLOAD_BYTES" in message


# --- slow bodies -----------------------------------------------------------------------------------------


def test_slow_bodies_are_cut_off_after_the_deadline_and_others_are_served(server, make_sample):
    # Headers promising 1 MB, 10 bytes, then nothing, on more connections than a worker has
    # threads: without a bound on body reads they hold the threads, and requests queued behind
    # them, forever. Each stalled read now ends after OCR_TIMEOUT_S (10 s) with a 408.
    slow = [socket.create_connection(("127.0.0.1", server.port), timeout=20) for _ in range(3)]
    try:
        for sock in slow:
            sock.sendall(
                b"POST /v1/ocr HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                b"Content-Length: 1000000\r\n\r\n\x89PNG\r\n\x1a\n\0\0"
            )
        sample = make_sample(1)
        response = timed(lambda: post(server, encode(sample.image), "ok.png", timeout=30), 16.0)
        assert response.status_code == 200 and sample.matches(read_text(response.json()))
        # Headers and body may come in separate segments: read the whole response, as a client would.
        answer = http.client.HTTPResponse(slow[0])
        answer.begin()
        body = answer.read().decode(errors="replace")
        assert answer.status == 408, body[:200]
        assert "OCR_TIMEOUT_S" in body
    finally:
        for sock in slow:
            sock.close()


# --- transparency (item 3) -------------------------------------------------------------------------------


def test_black_text_on_a_transparent_background_reads(server, make_sample):
    sample = make_sample(3)
    ink = 255 - np.asarray(sample.image.convert("L"))
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., 3] = ink  # black everywhere; only the text is opaque
    response = post(server, encode(Image.fromarray(rgba, "RGBA")), "clear.png")
    assert response.status_code == 200, response.text
    assert sample.matches(read_text(response.json())), read_text(response.json())


def test_a_transparent_colour_key_on_a_grey_png_is_paper(server, make_sample):
    # tRNS on an 8-bit grey PNG: black (0) is transparent, the text is dark grey. Flattened without
    # the key the page is black with grey text; on white paper it reads.
    sample = make_sample(5)
    gray = np.asarray(sample.image.convert("L"))
    keyed = np.where(gray > 128, 0, 60).astype(np.uint8)
    data = encode(Image.fromarray(keyed, "L"), transparency=0)
    assert Image.open(io.BytesIO(data)).info.get("transparency") == 0
    response = post(server, data, "keyed.png")
    assert response.status_code == 200, response.text
    assert sample.matches(read_text(response.json())), read_text(response.json())


# --- headers (item 11) -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/"), ("GET", "/healthz"), ("GET", "/nope"), ("POST", "/v1/ocr")]
)
def test_every_answer_has_security_headers_and_no_version_banner(server, method, path):
    response = requests.request(method, server.url + path, timeout=30)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    server_header = response.headers.get("Server", "")
    assert "gunicorn" not in server_header.lower() and not any(c.isdigit() for c in server_header)
