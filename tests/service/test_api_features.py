"""Issue 14's API in both modes, in-process: batches, documents, options, recognition only, legacy.

The Flask app runs in this process (test client) on the real runners: `single` (SavedModelRunner)
and `tfserving` (TFServingGrpcRunner against the TF Serving stand-in), both serving the bar-reading
tiny models (ocrstack_testing.tiny_models: a row of N black bars reads `bars:N`). A thin wrapper
around the real runner counts model calls and can scale the recogniser's confidence, for the
options that filter on it. The same paths against a real gunicorn, with hostile input, are in
tests/service/web/test_web_hostile_paths.py.
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from ocr_service.app import create_app, default_runner_factory
from ocr_service.settings import Settings, load_settings
from ocrstack_testing.pdf import image_pdf, text_pdf
from ocrstack_testing.standin import StandIn, models_config
from ocrstack_testing.web import bar_sample, encode
from PIL import Image

DETECTOR = Settings.detector  # the tiny models hold both detectors; the service calls its default


@pytest.fixture(scope="module")
def bar_models(tmp_path_factory):
    from ocrstack_testing.tiny_models import export

    root = tmp_path_factory.mktemp("bar_models")
    export(root)
    return root


@pytest.fixture(scope="module")
def bar_standin(bar_models, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bar_standin")
    config = tmp / "models.config"
    config.write_text(models_config(bar_models, (DETECTOR, "crnn")))
    server = StandIn(config, tmp / "standin.log")
    server.start()
    yield server
    server.stop()


class Recording:
    """The real runner, counting calls per model; `confidence_scale` scales crnn's confidence."""

    def __init__(self, runner) -> None:
        self.runner = runner
        self.calls: Counter[str] = Counter()
        self.rows: Counter[str] = Counter()
        self.confidence_scale = 1.0
        self.char_outputs = False  # as a crnn exported with char_columns / char_confidence answers

    def predict(self, model, inputs):
        self.calls[model] += 1
        self.rows[model] += len(next(iter(inputs.values())))
        outputs = self.runner.predict(model, inputs)
        if model == "crnn":
            outputs = {**outputs, "confidence": outputs["confidence"] * self.confidence_scale}
            if self.char_outputs:  # each character's centre evenly along the crop, confidence 0.9
                n = max(1, max(len(t) for t in outputs["text"]))
                columns = np.full((len(outputs["text"]), n), -1.0, np.float32)
                for row, (text, width) in enumerate(zip(outputs["text"], inputs["widths"], strict=True)):
                    columns[row, : len(text)] = (np.arange(len(text)) + 0.5) * width / max(1, len(text))
                outputs["char_columns"] = columns
                outputs["char_confidence"] = np.where(columns >= 0, 0.9, 0.0).astype(np.float32)
        return outputs

    def ready(self):
        return self.runner.ready()

    def close(self):
        self.runner.close()


@pytest.fixture(scope="module", params=["single", "tfserving"])
def mode(request):
    return request.param


@pytest.fixture(scope="module")
def service(mode, bar_models, request, tmp_path_factory):
    return make_service(mode, bar_models, request, tmp_path_factory, {})


@pytest.fixture(scope="module")
def tight_service(mode, bar_models, request, tmp_path_factory):
    """The same service with OCR_MAX_LINES=2 (a page of three rows of bars is one line too many)
    and OCR_MAX_ASPECT_RATIO=20 (the default is 50)."""
    env = {"OCR_MAX_LINES": "2", "OCR_MAX_ASPECT_RATIO": "20"}
    return make_service(mode, bar_models, request, tmp_path_factory, env)


def make_service(mode, bar_models, request, tmp_path_factory, extra_env):
    jobs_dir = tmp_path_factory.mktemp(f"jobs_{mode}")
    env = {
        "OCR_MODE": mode,
        "OCR_MODEL_DIR": str(bar_models),
        "OCR_MAX_PAGES": "3",
        "OCR_JOBS_DIR": str(jobs_dir),
        **extra_env,
    }
    if mode == "tfserving":
        standin = request.getfixturevalue("bar_standin")
        env["OCR_TFSERVING_GRPC"] = standin.grpc_target
    runners = []

    def factory(settings):
        runners.append(Recording(default_runner_factory(settings)))
        return runners[-1]

    app = create_app(load_settings(env), runner_factory=factory)
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    return client, runners[0]


@pytest.fixture
def client(service):
    client, runner = service
    runner.calls.clear()
    runner.rows.clear()
    runner.confidence_scale = 1.0
    runner.char_outputs = False
    return client


@pytest.fixture
def runner(service):
    return service[1]


def png(bars: int, size=(400, 120)) -> bytes:
    return encode(bar_sample(bars=bars, size=size).image)


def line_png(bars: int) -> bytes:
    """A line crop as a client's own detector would send it: the bars with a little margin."""
    return encode(bar_sample(bars=bars).image.crop((30, 32, 50 + 32 * bars, 88)))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def texts(body) -> list[str]:
    return [line["text"] for line in body["lines"]]


# --- recognition only ------------------------------------------------------------------------------------


def test_recognize_reads_one_line_image(client):
    response = client.post("/v1/recognize", data={"image": (io.BytesIO(line_png(4)), "l.png")})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["text"] == "bars:4"
    assert body["confidence"] == 1.0
    assert (body["width"], body["height"]) == (148, 56)  # the crop's own size


def test_recognize_batch_reads_in_order_in_one_model_call_and_reports_bad_items(client, runner):
    images = [b64(line_png(2)), "not base64 !", b64(line_png(5)), b64(b"GIF89a broken")]
    response = client.post("/v1/recognize", json={"images": images})
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert results[0]["text"] == "bars:2" and results[2]["text"] == "bars:5"
    assert results[1]["error"]["code"] == "invalid_image" and "base64" in results[1]["error"]["message"]
    assert results[3]["error"]["code"] == "invalid_image"
    assert runner.calls == {"crnn": 1}  # the two good lines in one recogniser call, no detector


def test_recognize_refuses_a_pdf_with_415(client):
    pdf = image_pdf([bar_sample(bars=2).image])
    response = client.post("/v1/recognize", data=pdf, headers={"Content-Type": "application/pdf"})
    assert response.status_code == 415
    assert "/v1/ocr" in response.get_json()["error"]["message"]


# --- legacy ------------------------------------------------------------------------------------------------


def test_legacy_crnn_reads_a_list_whatever_the_content_type(client):
    body = json.dumps([{"img": b64(line_png(3))}, {"img": "data:image/png;base64," + b64(line_png(6))}])
    response = client.post("/crnn", data=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["prism_wordsInfo"] == [{"word": "bars:3"}, {"word": "bars:6"}]
    assert answer["sid"] == response.headers["X-Request-ID"]


def test_legacy_ocr_joins_words_with_a_space_and_parses_json_sent_as_form(client):
    payload = "{\n" + f'"img": "{b64(png(3))}",\n"prob": false\n' + "}"
    response = client.post(
        "/ocr", data=payload, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["content"] == "bars:3 "  # each word followed by one space, as the original answered
    assert body["prism_wnum"] == 1 and body["prism_wordsInfo"][0]["word"] == "bars:3"


def test_legacy_ocr_still_takes_a_multipart_image_file(client):
    response = client.post("/ocr", data={"image": (io.BytesIO(png(4)), "a.png")})
    assert response.status_code == 200 and response.get_json()["content"] == "bars:4 "


@pytest.mark.parametrize(
    ("path", "payload", "status", "code"),
    [
        ("/ocr", "not json", 400, "bad_request"),
        ("/ocr", json.dumps({"img": "%%%"}), 400, "invalid_image"),
        ("/ocr", json.dumps({"img": b64(b"hello")}), 415, "unsupported_media_type"),
        ("/crnn", json.dumps({"img": "x"}), 400, "bad_request"),
        ("/crnn", json.dumps([{"image": "x"}]), 400, "bad_request"),
    ],
)
def test_legacy_errors_carry_error_code_and_message_with_honest_status(client, path, payload, status, code):
    response = client.post(path, data=payload, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    body = response.get_json()
    assert body["error_code"] == -1
    assert body["message"] == body["error"]["message"] and body["message"]
    assert body["error"]["code"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]


# --- options -----------------------------------------------------------------------------------------------


def test_detection_only_answers_boxes_without_calling_the_recogniser(client, runner):
    response = client.post("/v1/ocr?recognize=false", data=png(3), headers={"Content-Type": "image/png"})
    assert response.status_code == 200, response.get_json()
    (line,) = response.get_json()["lines"]
    assert list(line) == ["box"] and len(line["box"]) == 4
    assert runner.calls == {DETECTOR: 1}


def test_min_confidence_drops_lines_below_it(client, runner):
    runner.confidence_scale = 0.5
    low = client.post("/v1/ocr", json={"image": b64(png(3)), "min_confidence": 0.6})
    assert low.status_code == 200 and low.get_json()["lines"] == []
    kept = client.post("/v1/ocr", data={"image": (io.BytesIO(png(3)), "a.png"), "min_confidence": "0.4"})
    assert texts(kept.get_json()) == ["bars:3"] and kept.get_json()["lines"][0]["confidence"] == 0.5


def test_by_default_lines_read_with_less_than_half_confidence_are_left_out(client, runner):
    # OCR_MIN_CONFIDENCE's default, 0.5: a line read at 0.45 is not in the answer unless asked for.
    runner.confidence_scale = 0.45
    default = client.post("/v1/ocr", data=png(3), headers={"Content-Type": "image/png"})
    assert default.status_code == 200 and default.get_json()["lines"] == []
    every = client.post("/v1/ocr?min_confidence=0", data=png(3), headers={"Content-Type": "image/png"})
    assert texts(every.get_json()) == ["bars:3"]
    runner.confidence_scale = 0.55
    assert texts(client.post("/v1/ocr", data=png(3), headers={"Content-Type": "image/png"}).get_json()) == [
        "bars:3"
    ]


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"min_confidence": 1.5}, "'min_confidence' must be a number from 0 to 1"),
        ({"min_confidence": "high"}, "'min_confidence' must be a number from 0 to 1"),
        ({"min_confidence": True}, "'min_confidence' must be a number from 0 to 1"),
        ({"recognize": "maybe"}, "'recognize' must be true or false"),
        ({"recognise": False}, "unknown field(s) 'recognise'"),
    ],
)
def test_bad_options_are_400_with_a_message(client, options, needle):
    response = client.post("/v1/ocr", json={"image": b64(png(2)), **options})
    assert response.status_code == 400
    assert needle in response.get_json()["error"]["message"]


# --- batches -----------------------------------------------------------------------------------------------


def test_multipart_batch_reads_in_order_with_one_recogniser_call_and_partial_failures(client, runner):
    files = [
        (io.BytesIO(png(2)), "a.png"),
        (io.BytesIO(b"\x89PNG\r\n\x1a\nbroken"), "b.png"),
        (io.BytesIO(png(4)), "c.png"),
        (io.BytesIO(png(5)), "d.png"),
    ]
    response = client.post("/v1/ocr", data={"image": files}, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [(r["index"], r["name"]) for r in results] == [
        (0, "a.png"),
        (1, "b.png"),
        (2, "c.png"),
        (3, "d.png"),
    ]
    assert [texts(results[i]) for i in (0, 2, 3)] == [["bars:2"], ["bars:4"], ["bars:5"]]
    assert results[1]["error"]["code"] == "invalid_image"
    assert runner.calls == {DETECTOR: 3, "crnn": 1}  # one detector call per image, one recogniser call
    assert runner.rows["crnn"] == 3


def rows_of_bars(*counts: int) -> bytes:
    """One page with a row of bars per count: as many lines as counts."""
    page = Image.new("RGB", (400, 130 * len(counts)), "white")
    for row, bars in enumerate(counts):
        page.paste(bar_sample(bars=bars).image, (0, row * 130))
    return encode(page)


def test_an_image_beyond_the_shape_or_line_bounds_fails_alone_in_a_batch(tight_service):
    client, runner = tight_service
    runner.calls.clear()
    runner.rows.clear()
    strip = encode(Image.new("RGB", (20, 2000), "white"))  # 100:1, over OCR_MAX_ASPECT_RATIO (50)
    dense = rows_of_bars(2, 3, 4)  # 3 lines, over OCR_MAX_LINES (2 here)
    files = [
        (io.BytesIO(png(2)), "a.png"),
        (io.BytesIO(strip), "strip.png"),
        (io.BytesIO(dense), "dense.png"),
        (io.BytesIO(png(5)), "d.png"),
    ]
    response = client.post("/v1/ocr", data={"image": files}, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert texts(results[0]) == ["bars:2"] and texts(results[3]) == ["bars:5"]
    assert set(results[1]) == {"index", "name", "error"}
    assert results[1]["error"]["code"] == "unprocessable_image"
    message = results[1]["error"]["message"]
    assert "20x2000" in message and "OCR_MAX_ASPECT_RATIO" in message
    assert set(results[2]) == {"index", "name", "error"}
    assert results[2]["error"]["code"] == "unprocessable_image"
    assert "3 text lines; the limit is 2" in results[2]["error"]["message"]
    assert results[0]["models"] == results[3]["models"] and set(results[0]["models"]) == {DETECTOR, "crnn"}
    # the strip never reaches the detector; the dense page's lines are never read
    assert runner.calls == {DETECTOR: 3, "crnn": 1} and runner.rows["crnn"] == 2


def test_alone_the_same_images_are_refused_with_422(tight_service):
    client = tight_service[0]
    for data in (encode(Image.new("RGB", (20, 2000), "white")), rows_of_bars(2, 3, 4)):
        response = client.post("/v1/ocr", data=data, headers={"Content-Type": "image/png"})
        assert response.status_code == 422 and response.get_json()["error"]["code"] == "unprocessable_image"


def test_the_operators_aspect_ratio_bound_holds_on_every_upload_path(client, tight_service):
    # 30:1 is within the default bound (50) and beyond this service's OCR_MAX_ASPECT_RATIO (20)
    strip = encode(Image.new("RGB", (1200, 40), "white"))
    for path in ("/v1/ocr", "/v1/recognize"):
        upload = {"image": (io.BytesIO(strip), "strip.png")}
        assert client.post(path, data=upload).status_code == 200, path
        response = tight_service[0].post(path, data={"image": (io.BytesIO(strip), "strip.png")})
        assert response.status_code == 422, path
        message = response.get_json()["error"]["message"]
        assert "1200x40" in message and "the limit is 20:1 (OCR_MAX_ASPECT_RATIO)" in message, path


def test_a_document_page_beyond_the_line_bound_fails_that_document_alone_in_a_batch(tight_service):
    client = tight_service[0]
    pdf = image_pdf([bar_sample(bars=2).image, Image.open(io.BytesIO(rows_of_bars(2, 3, 4)))], dpi=150)
    files = [(io.BytesIO(pdf), "two-pages.pdf"), (io.BytesIO(png(4)), "b.png")]
    response = client.post("/v1/ocr", data={"image": files}, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    first, second = response.get_json()["results"]
    assert first["error"]["code"] == "unprocessable_image"
    assert first["error"]["message"].startswith("page 2: the image has 3 text lines")
    assert "pages" not in first and texts(second) == ["bars:4"]


def test_json_list_batch_and_its_limits(client):
    response = client.post("/v1/ocr", json=[b64(png(2)), {"image": b64(png(3)), "name": "x"}])
    assert response.status_code == 200
    assert [texts(r) for r in response.get_json()["results"]] == [["bars:2"], ["bars:3"]]
    assert response.get_json()["results"][1]["name"] == "x"
    too_many = client.post("/v1/ocr", json={"images": [b64(png(2))] * 17})
    assert too_many.status_code == 413 and too_many.get_json()["error"]["code"] == "too_many_pages"
    empty = client.post("/v1/ocr", json={"images": []})
    assert empty.status_code == 400 and "no images" in empty.get_json()["error"]["message"]


# --- documents ---------------------------------------------------------------------------------------------


def test_pdf_gives_one_result_per_page_with_text_layer_flag(client, runner):
    pages = [bar_sample(bars=n).image for n in (2, 3)]
    response = client.post(
        "/v1/ocr", data=image_pdf(pages, dpi=150), headers={"Content-Type": "application/pdf"}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [(p["page"], p["width"], p["height"], p["text_layer"]) for p in body["pages"]] == [
        (1, 400, 120, False),
        (2, 400, 120, False),
    ]
    assert [texts(p) for p in body["pages"]] == [["bars:2"], ["bars:3"]]
    assert runner.calls["crnn"] == 1  # both pages' lines in one recogniser call

    layered = client.post("/v1/ocr", data={"image": (io.BytesIO(text_pdf("Invoice 42")), "t.pdf")})
    assert layered.status_code == 200, layered.get_json()
    assert [p["text_layer"] for p in layered.get_json()["pages"]] == [True]


def test_multipage_tiff_gives_pages(client):
    first, *rest = [bar_sample(bars=n).image for n in (1, 2, 3)]
    buffer = io.BytesIO()
    first.save(buffer, format="TIFF", save_all=True, append_images=rest)
    response = client.post("/v1/ocr", data={"image": (io.BytesIO(buffer.getvalue()), "p.tiff")})
    assert response.status_code == 200, response.get_json()
    assert [texts(p) for p in response.get_json()["pages"]] == [["bars:1"], ["bars:2"], ["bars:3"]]


def test_document_limits_are_413_and_a_broken_pdf_400(client):
    four = image_pdf([Image.new("RGB", (64, 64), "white")] * 4)  # OCR_MAX_PAGES=3 here
    response = client.post("/v1/ocr", data=four, headers={"Content-Type": "application/pdf"})
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_many_pages"
    assert "4 pages; the limit is 3" in response.get_json()["error"]["message"]

    pdf = pdfium.PdfDocument.new()
    pdf.new_page(30000, 30000)  # points: 62500 px square at 150 dpi
    buffer = io.BytesIO()
    pdf.save(buffer)
    huge = client.post("/v1/ocr", data=buffer.getvalue(), headers={"Content-Type": "application/pdf"})
    assert huge.status_code == 413 and "page 1 is 62500x62500" in huge.get_json()["error"]["message"]

    broken = image_pdf([Image.new("RGB", (64, 64), "white")])[:200]
    truncated = client.post("/v1/ocr", data=broken, headers={"Content-Type": "application/pdf"})
    assert truncated.status_code == 400 and truncated.get_json()["error"]["code"] == "invalid_image"


def test_batch_may_mix_images_and_documents(client):
    files = [(io.BytesIO(png(2)), "a.png"), (io.BytesIO(image_pdf([bar_sample(bars=4).image])), "b.pdf")]
    response = client.post("/v1/ocr", data={"image": files}, content_type="multipart/form-data")
    first, second = response.get_json()["results"]
    assert texts(first) == ["bars:2"]
    assert [texts(p) for p in second["pages"]] == [["bars:4"]]


def test_rendered_pdf_page_matches_the_dpi_setting():
    from ocr_service.documents import load

    settings = load_settings({"OCR_PDF_DPI": "300"})
    document = load(image_pdf([Image.new("RGB", (100, 50), "white")], dpi=150), settings)
    assert [(p.width, p.height) for p in document.pages] == [(200, 100)]
    rgb = document.render(0)
    document.close()
    assert rgb.shape == (100, 200, 3) and rgb.dtype == np.uint8


# --- per-character output ----------------------------------------------------------------------------------


def test_characters_need_a_model_that_exports_them(client):
    response = client.post("/v1/ocr", json={"image": b64(png(3)), "characters": True})
    assert response.status_code == 501
    error = response.get_json()["error"]
    assert error["code"] == "not_supported" and "'char_columns'" in error["message"]
    both = client.post("/v1/ocr", json={"image": b64(png(3)), "characters": True, "recognize": False})
    assert both.status_code == 400 and "'characters'" in both.get_json()["error"]["message"]


def test_characters_come_in_order_inside_their_line_with_their_confidence(client, runner):
    runner.char_outputs = True
    response = client.post("/v1/ocr?characters=true", data=png(3), headers={"Content-Type": "image/png"})
    assert response.status_code == 200, response.get_json()
    (line,) = response.get_json()["lines"]
    chars = line["chars"]
    assert "".join(c["char"] for c in chars) == line["text"] == "bars:3"
    assert all(c["confidence"] == 0.9 for c in chars)
    left, right = line["box"][0][0], line["box"][1][0]
    starts = [c["box"][0][0] for c in chars]
    assert starts == sorted(starts) and left <= starts[0] and chars[-1]["box"][1][0] <= right
    assert all(c["box"][0][0] < c["box"][1][0] for c in chars)
    assert all(c["box"][1][0] == pytest.approx(n["box"][0][0], abs=0.11) for c, n in pairwise(chars))


def test_char_boxes_follow_the_crop_layout():
    from ocr_service.characters import char_boxes

    quad = np.array([[100, 10], [300, 10], [300, 42], [100, 42]], np.float32)
    # crop_line: line 200 x 32 px, margin 3.2 px, scale 32 / 38.4: the line spans crop x 2.67..169.3
    # columns 42 and 126: the centres of time steps 10 and 31 of a stride-4 model
    chars = char_boxes(quad, "ab", np.array([42.0, 126.0, -1.0]), np.array([0.8, 0.6, 0.0]), 172, 172)
    (a, b) = chars
    assert (a.char, a.confidence, b.char, b.confidence) == ("a", 0.8, "b", 0.6)
    assert a.box[0] == [100.0, 10.0] and a.box[3] == [100.0, 42.0]  # clipped to the line's start
    assert a.box[1][0] == pytest.approx(197.6, abs=0.2) and b.box[0][0] == a.box[1][0]
    assert b.box[1][0] == pytest.approx(298.4, abs=0.2) and b.box[2][1] == 42.0
    assert char_boxes(quad, "abc", np.array([42.0, 126.0]), np.array([0.8, 0.6]), 172, 172) is None
    squeezed = char_boxes(
        quad, "ab", np.array([22.0, 62.0]), np.array([0.8, 0.6]), 344, 172
    )  # fit_width halved it
    assert squeezed[0].box[1][0] == pytest.approx(chars[0].box[1][0], abs=15)


# --- async jobs ------------------------------------------------------------------------------------------


def wait_for_job(client, url: str, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    for _ in range(600):
        body = client.get(url).get_json()
        if body["status"] in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)
    return body


def test_job_answers_at_once_and_reports_the_pages_when_done(client):
    pdf = image_pdf([bar_sample(bars=n).image for n in (2, 5)])
    response = client.post("/v1/jobs?min_confidence=0.5", data={"image": (io.BytesIO(pdf), "big.pdf")})
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert job["status"] == "queued" and response.headers["Location"] == job["status_url"]
    assert job["expires"] - job["created"] == 86400
    done = wait_for_job(client, job["status_url"])
    assert done["status"] == "done", done
    assert done["progress"] == {"done": 2, "total": 2}
    assert [texts(p) for p in done["result"]["pages"]] == [["bars:2"], ["bars:5"]]


class SlowDetector(Recording):
    """The real runner, with 0.8 s more per detector call: a CPU host's pace on a big page."""

    def predict(self, model, inputs):
        if model == DETECTOR:
            time.sleep(0.8)
        return super().predict(model, inputs)


def test_a_job_gives_each_page_the_deadline_a_one_page_request_has(bar_models, tmp_path):
    # OCR_TIMEOUT_S=2: a page takes 0.8 s and more, the five pages 4 s and more (one at a time). A
    # request must answer within its deadline, so /v1/ocr is a 504; a job has no client waiting, and
    # each page gets the deadline. (With 1 s and 0.4 s a page it failed once, the fast suite's two
    # workers sharing the 2-core CPU with a training run; it passed alone.)
    env = {
        "OCR_MODEL_DIR": str(bar_models),
        "OCR_JOBS_DIR": str(tmp_path),
        "OCR_TIMEOUT_S": "2",
        "OCR_PAGE_THREADS": "1",
    }
    app = create_app(load_settings(env), runner_factory=lambda s: SlowDetector(default_runner_factory(s)))
    client = app.test_client()
    pdf = image_pdf([bar_sample(bars=n).image for n in (2, 3, 4, 5, 6)])
    response = client.post("/v1/ocr", data={"image": (io.BytesIO(pdf), "big.pdf")})
    assert response.status_code == 504 and response.get_json()["error"]["code"] == "backend_timeout"
    job = client.post("/v1/jobs", data={"image": (io.BytesIO(pdf), "big.pdf")}).get_json()
    done = wait_for_job(client, job["status_url"])
    assert done["status"] == "done", done
    assert [texts(p) for p in done["result"]["pages"]] == [[f"bars:{n}"] for n in (2, 3, 4, 5, 6)]


def test_a_job_left_running_by_a_dead_worker_is_taken_again(service, client):
    from ocr_service.jobs import JobStore
    from ocr_service.options import OcrOptions

    app_client, _ = service
    root = Path(app_client.application.extensions["ocr_service"].settings.jobs_dir)
    store = JobStore(root, 3600)
    held = store.create(png(4), OcrOptions(recognize=True, min_confidence=0.0))
    with open(root / held["job_id"] / "lock", "a+") as lock:  # a live worker holds this one
        fcntl.flock(lock, fcntl.LOCK_EX)
        orphan = store.create(png(3), OcrOptions(recognize=True, min_confidence=0.0))
        record = json.loads((root / orphan["job_id"] / "job.json").read_text())
        record.update(status="running", pid=999999999)  # its worker died mid-job: no lock held
        (root / orphan["job_id"] / "job.json").write_text(json.dumps(record))
        done = wait_for_job(client, f"/v1/jobs/{orphan['job_id']}")
        assert done["status"] == "done" and texts(done["result"]) == ["bars:3"]
        assert client.get(f"/v1/jobs/{held['job_id']}").get_json()["status"] == "queued"
    assert wait_for_job(client, f"/v1/jobs/{held['job_id']}")["status"] == "done"


def test_expired_and_unknown_jobs_are_404_and_expired_ones_are_deleted(service, client):
    from ocr_service.jobs import JobStore
    from ocr_service.options import OcrOptions

    root = Path(service[0].application.extensions["ocr_service"].settings.jobs_dir)
    store = JobStore(root, 60)
    job = store.create(b"not read", OcrOptions(recognize=False, min_confidence=0.0))
    record = json.loads((root / job["job_id"] / "job.json").read_text())
    record.update(status="done", expires=time.time() - 1)
    (root / job["job_id"] / "job.json").write_text(json.dumps(record))
    assert client.get(f"/v1/jobs/{job['job_id']}").status_code == 404
    store.expire()
    assert not (root / job["job_id"]).exists()
    for bad in ("0" * 32, "..%2F..%2Fetc", "x" * 500):
        response = client.get(f"/v1/jobs/{bad}")
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_jobs_are_off_without_a_jobs_dir(bar_models):
    app = create_app(load_settings({"OCR_MODEL_DIR": str(bar_models)}))
    response = app.test_client().post("/v1/jobs", data=png(2), headers={"Content-Type": "image/png"})
    assert response.status_code == 404 and "OCR_JOBS_DIR" in response.get_json()["error"]["message"]


def test_bad_job_requests_are_400(client):
    assert client.post("/v1/jobs").status_code == 400
    bad = client.post("/v1/jobs", json={"image": b64(png(2)), "min_confidence": 7})
    assert bad.status_code == 400 and "min_confidence" in bad.get_json()["error"]["message"]
