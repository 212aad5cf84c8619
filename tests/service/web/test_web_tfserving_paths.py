"""Issue 14's paths end to end in mode `tfserving`: gunicorn + the TF Serving stand-in (gRPC).

One slow test: a batch with a bad image, a two-page PDF, `/v1/recognize` on a line cut out of a
page, the legacy `/crnn` and `/ocr` (JSON sent as text/plain). Mode `single` runs the same paths on
the shared gunicorn in the fast set (test_web_hostile_paths.py, test_web_client.py, test_web_page.py).
"""

from __future__ import annotations

import base64
import json

import pytest
import requests
from ocrstack_testing.pdf import image_pdf
from ocrstack_testing.standin import StandIn
from ocrstack_testing.web import Gunicorn, encode, read_text
from test_web_resilience import serving_config


def line_crop(image, box, margin: int = 6):
    xs, ys = [x for x, _ in box], [y for _, y in box]
    return image.crop(
        (int(min(xs)) - margin, int(min(ys)) - margin, int(max(xs)) + margin, int(max(ys)) + margin)
    )


@pytest.mark.slow
def test_batches_documents_recognition_and_legacy_paths_in_tfserving_mode(model_dir, make_sample, tmp_path):
    standin = StandIn(serving_config(model_dir, tmp_path / "models.config"), tmp_path / "standin.log")
    standin.start()
    service = Gunicorn(
        {"OCR_MODE": "tfserving", "OCR_TFSERVING_GRPC": standin.grpc_target, "OCR_WORKERS": "1"},
        tmp_path / "logs",
    )
    service.start()
    try:
        service.wait_until("/readyz", 200, timeout_s=150)
        first, second = make_sample(1), make_sample(3)

        files = [("image", ("a.png", encode(first.image))), ("image", ("b.png", b"\x89PNG\r\n\x1a\n")),
                 ("image", ("c.png", encode(second.image)))]  # fmt: skip
        batch = requests.post(service.url + "/v1/ocr", files=files, timeout=120)
        assert batch.status_code == 200, batch.text
        a, b, c = batch.json()["results"]
        assert first.matches(read_text(a)) and second.matches(read_text(c))
        assert b["error"]["code"] == "invalid_image"

        pdf = requests.post(
            service.url + "/v1/ocr", files={"image": image_pdf([first.image, second.image])}, timeout=120
        )
        assert pdf.status_code == 200, pdf.text
        pages = pdf.json()["pages"]
        assert [p["page"] for p in pages] == [1, 2] and not any(p["text_layer"] for p in pages)
        assert first.matches(read_text(pages[0])) and second.matches(read_text(pages[1]))

        crop = encode(line_crop(first.image, a["lines"][0]["box"]))
        line = requests.post(service.url + "/v1/recognize", files={"image": crop}, timeout=60)
        assert line.status_code == 200, line.text
        assert first.matches(line.json()["text"])  # the crop's margin is not the pipeline's: close, not equal

        crnn = requests.post(
            service.url + "/crnn",
            data=json.dumps([{"img": base64.b64encode(crop).decode()}]),
            headers={"Content-Type": "text/plain"},
            timeout=60,
        )
        assert crnn.json()["prism_wordsInfo"] == [{"word": line.json()["text"]}]

        legacy = requests.post(
            service.url + "/ocr",
            data=json.dumps({"img": base64.b64encode(encode(second.image)).decode()}),
            headers={"Content-Type": "text/plain"},
            timeout=60,
        )
        assert legacy.status_code == 200 and legacy.json()["content"] == read_text(c) + " "
    finally:
        service.stop()
        standin.stop()
