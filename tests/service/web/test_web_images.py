"""Hostile and unusual uploads against a real gunicorn: the right 4xx or the right text, every time.

After each test the same workers are still alive (none crashed) and the next request reads its
image correctly (the `service_survives` fixture of conftest.py).
"""

from __future__ import annotations

import base64
import io
import os
import struct
import zlib

import numpy as np
import pytest
import requests
from ocrstack_testing.web import encode, read_text
from PIL import Image

# conftest.py: after each test no worker died and the next image reads right
pytestmark = pytest.mark.usefixtures("service_survives")


def post_file(server, data: bytes, field: str = "image", name: str = "upload.bin") -> requests.Response:
    return requests.post(server.url + "/v1/ocr", files={field: (name, data)}, timeout=60)


def post_json(server, payload) -> requests.Response:
    return requests.post(server.url + "/v1/ocr", json=payload, timeout=60)


def assert_error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "request_id"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert "Traceback" not in response.text
    return body["error"]["message"]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int, rows: int = 1) -> bytes:
    """A PNG whose IHDR claims width x height (8-bit gray) with only `rows` rows of real data."""
    raw = zlib.compress(b"".join(b"\x00" + bytes(min(width, 64)) for _ in range(rows)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", raw) + png_chunk(b"IEND", b"")


# --- malformed requests --------------------------------------------------------------------------------


def test_empty_body_is_400(server):
    response = requests.post(server.url + "/v1/ocr", timeout=10)
    assert "multipart/form-data" in assert_error(response, 400, "bad_request")


def test_empty_file_is_400(server):
    assert "empty" in assert_error(post_file(server, b""), 400, "invalid_image")


def test_wrong_multipart_field_name_is_400_and_names_the_field(server, make_sample):
    message = assert_error(post_file(server, encode(make_sample().image), field="file"), 400, "bad_request")
    assert "'image'" in message and "'file'" in message


def test_wrong_json_field_name_is_400(server):
    assert "'image'" in assert_error(post_json(server, {"img": "aGVsbG8="}), 400, "bad_request")


def test_json_that_is_not_an_object_is_400(server):
    # (a JSON list is a batch: tests/service/web/test_web_hostile_paths.py)
    assert_error(post_json(server, "a"), 400, "bad_request")
    assert_error(post_json(server, 42), 400, "bad_request")


def test_invalid_json_is_400(server):
    response = requests.post(
        server.url + "/v1/ocr", data=b'{"image": ', headers={"Content-Type": "application/json"}, timeout=10
    )
    assert_error(response, 400, "bad_request")


def test_garbage_base64_is_400(server):
    response = post_json(server, {"image": "!!! this is not base64 ***"})
    assert "base64" in assert_error(response, 400, "invalid_image")


# --- not images --------------------------------------------------------------------------------------------


def test_text_file_is_415(server):
    response = post_file(server, "総額 1,280 円\nhello\n".encode(), name="notes.txt")
    assert_error(response, 415, "unsupported_media_type")


def test_pdf_without_pages_is_400(server):
    # PDFs are read (tests/service/web/test_web_hostile_paths.py has the rest); this one has no page.
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    assert_error(post_file(server, pdf, name="scan.pdf"), 400, "invalid_image")


def test_text_body_with_text_content_type_is_415(server):
    response = requests.post(
        server.url + "/v1/ocr", data=b"hello", headers={"Content-Type": "text/plain"}, timeout=10
    )
    assert_error(response, 415, "unsupported_media_type")


# --- broken or degenerate images ---------------------------------------------------------------------------


def test_truncated_png_is_400(server, make_sample):
    data = encode(make_sample().image)
    assert_error(post_file(server, data[: len(data) // 2]), 400, "invalid_image")


def test_png_of_0x0_pixels_is_400(server):
    assert_error(post_file(server, png_header_only(0, 0, rows=0)), 400, "invalid_image")


def test_1x1_image_is_read_as_no_lines(server):
    response = post_file(server, encode(Image.new("RGB", (1, 1), "black")))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["width"], body["height"], body["lines"]) == (1, 1, [])


def test_decompression_bomb_header_is_413_without_decoding(server):
    message = assert_error(post_file(server, png_header_only(50_000, 50_000)), 413, "image_too_large")
    assert "50000x50000" in message


# --- too many bytes ----------------------------------------------------------------------------------------


def test_file_over_the_byte_limit_is_413(server):
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(11 * 1024 * 1024)  # limit: 10 MiB
    assert_error(post_file(server, data), 413, "image_too_large")


def test_body_over_the_request_limit_is_413_from_the_server(server):
    data = os.urandom(15 * 1024 * 1024)  # over MAX_CONTENT_LENGTH: refused before parsing
    assert "bytes this service accepts" in assert_error(post_file(server, data), 413, "image_too_large")


def test_ten_megabyte_json_string_is_refused_cleanly(server):
    payload = base64.b64encode(np.random.default_rng(0).bytes(7_500_000)).decode()  # a 10 MB JSON string
    assert len(payload) == 10_000_000
    assert_error(post_json(server, {"image": payload}), 415, "unsupported_media_type")
    bare = requests.post(
        server.url + "/v1/ocr",
        data=b'"' + b"A" * 10_000_000 + b'"',
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert_error(bare, 400, "bad_request")


# --- unusual but valid images: the right text ------------------------------------------------------------


def assert_reads(response: requests.Response, sample) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["width"], body["height"]) == sample.image.size
    assert sample.matches(read_text(body)), (read_text(body), sample.text)


def test_animated_gif_reads_the_first_frame(server, make_sample):
    first, second = make_sample(0), make_sample(3)
    buffer = io.BytesIO()
    first.image.save(buffer, "GIF", save_all=True, append_images=[second.image], duration=100, loop=0)
    assert_reads(post_file(server, buffer.getvalue(), name="anim.gif"), first)


def test_16_bit_png_is_read(server, make_sample):
    sample = make_sample(1)
    gray16 = np.asarray(sample.image.convert("L"), dtype=np.uint16) * 257
    data = encode(Image.fromarray(gray16))
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    assert_reads(post_file(server, data, name="deep.png"), sample)


def test_cmyk_jpeg_is_read(server, make_sample):
    sample = make_sample(2)
    data = encode(sample.image.convert("CMYK"), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    assert_reads(post_file(server, data, name="print.jpg"), sample)


def test_exif_rotated_jpeg_is_read_upright(server, make_sample):
    sample = make_sample(2)
    stored = sample.image.rotate(90, expand=True)  # what the phone wrote: sideways pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    assert Image.open(io.BytesIO(data)).size == sample.image.size[::-1]
    assert_reads(post_file(server, data, name="phone.jpg"), sample)


def test_grayscale_png_is_read(server, make_sample):
    sample = make_sample(3)
    assert_reads(post_file(server, encode(sample.image.convert("L"))), sample)


def test_rgba_png_with_transparent_background_is_read_on_white(server, make_sample):
    sample = make_sample(1)
    ink = 255 - np.asarray(sample.image.convert("L"))
    rgba = np.zeros((*ink.shape, 4), dtype=np.uint8)  # black everywhere; only alpha says where ink is
    rgba[:, :, 3] = ink
    assert_reads(post_file(server, encode(Image.fromarray(rgba, "RGBA"))), sample)


def test_palette_png_is_read(server, make_sample):
    sample = make_sample(0)
    data = encode(sample.image.convert("P", palette=Image.Palette.ADAPTIVE, colors=4))
    assert_reads(post_file(server, data), sample)
