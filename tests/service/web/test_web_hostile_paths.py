"""Hostile input on issue 14's paths against a real gunicorn: batches, documents, options,
`/v1/recognize`, and the legacy `/ocr` and `/crnn`. Each gets the right 4xx JSON error (legacy ones
with `error_code: -1`), and afterwards the same workers are alive and read the next image right.
The happy paths in both modes are in tests/service/test_api_features.py.
"""

from __future__ import annotations

import base64
import io
import json

import pypdfium2 as pdfium
import pytest
import requests
from ocrstack_testing.pdf import image_pdf
from ocrstack_testing.web import encode
from PIL import Image

# conftest.py: after each test no worker died and the next image reads right
pytestmark = pytest.mark.usefixtures("service_survives")


def assert_error(response: requests.Response, status: int, code: str, legacy: bool = False) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    expected = {"error", "request_id"} | ({"error_code", "message"} if legacy else set())
    assert set(body) == expected
    assert body["error"]["code"] == code
    if legacy:
        assert body["error_code"] == -1 and body["message"] == body["error"]["message"]
    assert "Traceback" not in response.text
    return body["error"]["message"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def pdf_bytes(pages: list[tuple[float, float]]) -> bytes:
    pdf = pdfium.PdfDocument.new()
    for width, height in pages:
        pdf.new_page(width, height)
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


WHITE = encode(Image.new("RGB", (64, 48), "white"))


# --- /v1/recognize -----------------------------------------------------------------------------------------


def test_recognize_without_an_image_is_400(server):
    assert_error(requests.post(server.url + "/v1/recognize", timeout=10), 400, "bad_request")


def test_recognize_refuses_text_and_pdf_with_415(server):
    text = requests.post(server.url + "/v1/recognize", files={"image": b"hello"}, timeout=10)
    assert_error(text, 415, "unsupported_media_type")
    pdf = requests.post(server.url + "/v1/recognize", files={"image": pdf_bytes([(100, 50)])}, timeout=10)
    assert "/v1/ocr" in assert_error(pdf, 415, "unsupported_media_type")


def test_recognize_refuses_options_it_does_not_have(server):
    response = requests.post(
        server.url + "/v1/recognize", json={"image": b64(WHITE), "recognize": False}, timeout=10
    )
    assert "unknown field(s) 'recognize'" in assert_error(response, 400, "bad_request")


def test_recognize_batch_of_bad_items_reports_each(server):
    items = ["%%%", 42, b64(b"\x89PNG\r\n\x1a\ntruncated"), ""]
    response = requests.post(server.url + "/v1/recognize", json={"images": items}, timeout=30)
    assert response.status_code == 200, response.text
    codes = [r["error"]["code"] for r in response.json()["results"]]
    assert codes == ["invalid_image", "bad_request", "invalid_image", "invalid_image"]


# --- batches -----------------------------------------------------------------------------------------------


def test_batch_over_the_limit_is_413(server):
    files = [("image", ("w.png", WHITE))] * 17  # OCR_MAX_BATCH defaults to 16
    message = assert_error(
        requests.post(server.url + "/v1/ocr", files=files, timeout=30), 413, "too_many_pages"
    )
    assert "17 images; the limit is 16" in message


def test_batch_images_that_is_not_a_list_is_400(server):
    response = requests.post(server.url + "/v1/ocr", json={"images": {"a": b64(WHITE)}}, timeout=10)
    assert "'images' field must be a list" in assert_error(response, 400, "bad_request")


def test_batch_with_an_unknown_field_is_400(server):
    response = requests.post(server.url + "/v1/ocr", json={"images": [b64(WHITE)], "lang": "en"}, timeout=10)
    assert "'lang'" in assert_error(response, 400, "bad_request")


# --- options -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["min_confidence=nan", "min_confidence=-0.1", "min_confidence=1e999", "recognize=2", "x=1"]
)
def test_bad_option_in_the_query_is_400(server, query):
    response = requests.post(
        server.url + "/v1/ocr?" + query, data=WHITE, headers={"Content-Type": "image/png"}, timeout=10
    )
    assert_error(response, 400, "bad_request")


def test_option_of_the_wrong_json_type_is_400(server):
    response = requests.post(server.url + "/v1/ocr", json={"image": b64(WHITE), "recognize": [1]}, timeout=10)
    assert "'recognize' must be true or false" in assert_error(response, 400, "bad_request")


# --- documents ---------------------------------------------------------------------------------------------


def test_pdf_with_too_many_pages_is_413(server):
    response = requests.post(server.url + "/v1/ocr", files={"image": pdf_bytes([(72, 72)] * 21)}, timeout=30)
    assert "21 pages; the limit is 20" in assert_error(response, 413, "too_many_pages")


def test_pdf_page_too_large_once_rendered_is_413_before_rendering(server):
    response = requests.post(
        server.url + "/v1/ocr", files={"image": pdf_bytes([(72, 72), (14400, 14400)])}, timeout=30
    )
    message = assert_error(response, 413, "image_too_large")
    assert "page 2 is 30000x30000" in message and "150 dpi" in message


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n" + bytes(range(256)) * 8,  # a header and garbage
        image_pdf([Image.new("RGB", (64, 64), "white")])[:-300],  # truncated: no xref, no trailer
        b"%PDF-",
    ],
    ids=["garbage", "truncated", "header-only"],
)
def test_broken_pdf_is_400(server, data):
    response = requests.post(
        server.url + "/v1/ocr", data=data, headers={"Content-Type": "application/pdf"}, timeout=30
    )
    assert_error(response, 400, "invalid_image")


def test_tiff_with_too_many_pages_is_413(server):
    buffer = io.BytesIO()
    page = Image.new("1", (16, 16), 1)
    page.save(buffer, format="TIFF", save_all=True, append_images=[page] * 20)
    response = requests.post(server.url + "/v1/ocr", files={"image": buffer.getvalue()}, timeout=30)
    assert "21 pages" in assert_error(response, 413, "too_many_pages")


def test_tiff_page_with_too_many_pixels_is_413(server):
    buffer = io.BytesIO()
    small, huge = Image.new("1", (16, 16), 1), Image.new("1", (8000, 6000), 1)  # 48 Mpx, bilevel
    small.save(buffer, format="TIFF", save_all=True, append_images=[huge], compression="group4")
    response = requests.post(server.url + "/v1/ocr", files={"image": buffer.getvalue()}, timeout=30)
    assert "page 2 is 8000x6000" in assert_error(response, 413, "image_too_large")


# --- legacy /ocr and /crnn ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/ocr", b"", 400, "bad_request"),
        ("/ocr", b"\xff\xfe not utf-8", 400, "bad_request"),
        ("/ocr", b"[" * 100_000 + b"]" * 100_000, 400, "bad_request"),
        ("/ocr", json.dumps({"img": 12}).encode(), 400, "bad_request"),
        ("/ocr", json.dumps({"img": "data:image/png;base64,"}).encode(), 400, "invalid_image"),
        ("/ocr", json.dumps({"img": b64(b"%PDF-1.4 not read here")}).encode(), 415, "unsupported_media_type"),
        ("/crnn", json.dumps([]).encode(), 400, "bad_request"),
        ("/crnn", json.dumps([{"img": b64(WHITE)}] * 17).encode(), 413, "too_many_pages"),
        ("/crnn", json.dumps(["just a string"]).encode(), 400, "bad_request"),
        ("/crnn", json.dumps([{"img": "!!"}]).encode(), 400, "invalid_image"),
    ],
    ids=[
        "ocr-empty",
        "ocr-not-utf8",
        "ocr-deeply-nested",
        "ocr-img-number",
        "ocr-empty-data-url",
        "ocr-pdf",
        "crnn-empty-list",
        "crnn-too-many",
        "crnn-item-not-object",
        "crnn-bad-base64",
    ],
)
def test_legacy_bad_input_is_honest_4xx_with_error_code(server, path, body, status, code):
    response = requests.post(server.url + path, data=body, headers={"Content-Type": "text/plain"}, timeout=30)
    assert_error(response, status, code, legacy=True)


# --- async jobs (off on this service: OCR_JOBS_DIR unset) -----------------------------------------------


@pytest.mark.parametrize(
    "path", ["/v1/jobs/" + "0" * 32, "/v1/jobs/..%2f..%2fetc%2fpasswd", "/v1/jobs/" + "x" * 1000]
)
def test_jobs_when_off_are_json_404(server, path):
    assert_error(requests.get(server.url + path, timeout=10), 404, "not_found")
    post = requests.post(server.url + "/v1/jobs", files={"image": WHITE}, timeout=10)
    assert "OCR_JOBS_DIR" in assert_error(post, 404, "not_found")
