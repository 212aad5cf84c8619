"""The HTTP API against a real gunicorn: routes, shapes, request ids, probes, metrics, the page."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import requests
from ocrstack_testing.web import encode, read_text


def test_healthz_answers_ok(server):
    response = requests.get(server.url + "/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_once_models_are_loaded(server):
    response = requests.get(server.url + "/readyz", timeout=10)
    assert response.status_code == 200
    # device: where this worker's TensorFlow runs the models (no GPU on the test machines).
    assert response.json() == {"status": "ready", "reason": "ready", "mode": "single", "device": "CPU"}


def test_v1_ocr_multipart_reads_the_lines_with_boxes_and_timings(server, make_sample, served_versions):
    sample = make_sample(2)
    files = {"image": ("s.png", encode(sample.image))}
    response = requests.post(server.url + "/v1/ocr", files=files, timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["request_id", "width", "height", "lines", "models", "timings_ms"]
    assert body["models"] == served_versions  # the version directories that read it
    assert (body["width"], body["height"]) == sample.image.size
    assert sample.matches(read_text(body))
    (line,) = body["lines"]
    assert set(line) == {"text", "confidence", "box"}
    assert 0.0 <= line["confidence"] <= 1.0
    assert len(line["box"]) == 4 and all(len(point) == 2 for point in line["box"])
    (x0, y0), (x1, _), (x2, y2), (_, _) = line["box"]
    assert x0 < x1 and y0 < y2  # clockwise from top-left
    assert {"decode", "total"} <= set(body["timings_ms"])
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_every_answer_names_the_model_versions_that_read_it(server, make_sample, served_versions):
    sample, other = make_sample(1), make_sample(4)
    files = [("image", ("a.png", encode(sample.image))), ("image", ("b.png", encode(other.image)))]
    batch = requests.post(server.url + "/v1/ocr", files=files, timeout=60)
    assert batch.status_code == 200, batch.text
    assert [r["models"] for r in batch.json()["results"]] == [served_versions] * 2
    line = files[0][1][1]  # a one-line sample is also a line image
    recognized = requests.post(server.url + "/v1/recognize", files={"image": ("l.png", line)}, timeout=60)
    assert recognized.status_code == 200, recognized.text
    assert recognized.json()["models"] == {"crnn": served_versions["crnn"]}


def test_v1_ocr_json_base64_reads_the_same_text(server, make_sample):
    sample = make_sample(1)
    payload = {"image": base64.b64encode(encode(sample.image)).decode()}
    response = requests.post(server.url + "/v1/ocr", json=payload, timeout=60)
    assert response.status_code == 200, response.text
    assert sample.matches(read_text(response.json()))


def test_v1_ocr_accepts_base64_in_a_multipart_text_field(server, make_sample):
    sample = make_sample(3)
    form = {"image": base64.b64encode(encode(sample.image)).decode()}  # curl -F image=<file.b64
    response = requests.post(server.url + "/v1/ocr", data=form, files={"other": b"x"}, timeout=60)
    assert response.status_code == 200, response.text
    assert sample.matches(read_text(response.json()))


def test_v1_ocr_accepts_a_raw_image_body(server, make_sample):
    sample = make_sample(0)
    response = requests.post(
        server.url + "/v1/ocr", data=encode(sample.image), headers={"Content-Type": "image/png"}, timeout=60
    )
    assert response.status_code == 200, response.text
    assert sample.matches(read_text(response.json()))


def test_ocr_compat_answers_the_original_fields(server, make_sample, served_versions):
    sample = make_sample(2)
    data_url = "data:image/png;base64," + base64.b64encode(encode(sample.image)).decode()
    response = requests.post(server.url + "/ocr", json={"img": data_url}, timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "sid",
        "prism_version",
        "prism_wnum",
        "prism_wordsInfo",
        "height",
        "width",
        "orgHeight",
        "orgWidth",
        "content",
        "models",  # ours, beside the original's fields (service/README.md, "Legacy endpoints")
    }
    assert body["models"] == served_versions
    assert body["prism_version"] == "1.0"
    assert body["sid"] == response.headers["X-Request-ID"]
    assert body["prism_wnum"] == 1
    assert (body["width"], body["height"]) == (body["orgWidth"], body["orgHeight"]) == sample.image.size
    assert sample.matches(body["content"].removesuffix(" "))
    (word,) = body["prism_wordsInfo"]
    assert body["content"] == word["word"] + " "  # the original: every word followed by one space
    assert len(word["pos"]) == 4
    assert all(set(p) == {"x", "y"} and isinstance(p["x"], int) for p in word["pos"])


def test_ocr_compat_errors_are_honest_status_codes(server):
    response = requests.post(server.url + "/ocr", json={"img": "not base64!"}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_image"
    response = requests.post(server.url + "/ocr", json={"image": "x"}, timeout=10)
    assert response.status_code == 400
    assert "'img'" in response.json()["error"]["message"]


def test_request_id_is_taken_from_the_client_and_returned(server):
    response = requests.get(server.url + "/healthz", headers={"X-Request-ID": "trace-42.a_b"}, timeout=5)
    assert response.headers["X-Request-ID"] == "trace-42.a_b"
    response = requests.post(server.url + "/v1/ocr", headers={"X-Request-ID": "trace-43"}, timeout=5)
    assert response.status_code == 400
    assert response.headers["X-Request-ID"] == "trace-43"
    assert response.json()["request_id"] == "trace-43"


def test_request_id_is_generated_when_missing_or_unsafe(server):
    plain = requests.get(server.url + "/healthz", timeout=5).headers["X-Request-ID"]
    unsafe = requests.get(server.url + "/healthz", headers={"X-Request-ID": 'a b"<x>'}, timeout=5)
    assert re.fullmatch(r"[0-9a-f]{32}", plain)
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["X-Request-ID"])


def test_unknown_route_is_a_json_404(server):
    response = requests.get(server.url + "/v2/nothing", timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_is_a_json_405_with_allow(server):
    response = requests.get(server.url + "/v1/ocr", timeout=5)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def _samples(text: str, name: str) -> dict[str, float]:
    """{label string: value} of one metric family in the exposition text."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, value = line.rsplit(" ", 1)
            out[key[len(name) :]] = float(value)
    return out


def test_metrics_count_every_request_over_all_workers(server, make_sample, served_versions):
    image = encode(make_sample(0).image)
    key = '{method="POST",route="/v1/ocr",status="200"}'
    scrape = requests.get(server.url + "/metrics", timeout=5).text
    before = _samples(scrape, "ocr_http_requests_total").get(key, 0)
    with requests.Session() as session:
        for _ in range(8):  # new connections each time would land on either worker; keep-alive too
            assert session.post(server.url + "/v1/ocr", files={"image": image}, timeout=60).status_code == 200
    for _ in range(4):
        assert requests.post(server.url + "/v1/ocr", files={"image": image}, timeout=60).status_code == 200
    text = requests.get(server.url + "/metrics", timeout=5).text
    assert _samples(text, "ocr_http_requests_total")[key] == before + 12
    latency = _samples(text, "ocr_http_request_duration_seconds_count")
    assert latency[key] >= before + 12
    stages = _samples(text, "ocr_pipeline_stage_seconds_count")
    for stage in ("decode", "detect_model", "recognize_model", "total"):
        assert stages[f'{{stage="{stage}"}}'] >= 12
    versions = _samples(text, "ocr_model_version_pages_total")
    for model, version in served_versions.items():
        assert versions[f'{{model="{model}",version="{version}"}}'] >= 12, versions
    in_flight = _samples(text, "ocr_http_requests_in_flight")
    assert sum(in_flight.values()) == 1.0  # the /metrics request itself, summed over live workers


def test_page_is_served_without_external_assets(server):
    page = requests.get(server.url + "/", timeout=5)
    assert page.status_code == 200
    assert 'id="file-input"' in page.text and 'id="canvas"' in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(assets) == ["/static/app.css", "/static/app.js"]
    for asset in assets:
        response = requests.get(server.url + asset, timeout=5)
        assert response.status_code == 200
        assert not re.search(r"https?://", response.text), f"{asset} references an external URL"
    assert not re.search(r"https?://", page.text)


def test_access_and_error_logs_are_json_lines_with_the_request_id(server):
    requests.post(server.url + "/v1/ocr", data=b"%PDF-1.4", headers={"X-Request-ID": "log-me-7"}, timeout=10)
    # gunicorn writes the access line after the response has left: on a busy machine the client can
    # read the log first, so wait for it (bounded).
    deadline = time.monotonic() + 10
    while True:
        access = [json.loads(x) for x in server.stdout_path.read_text().splitlines() if x.startswith("{")]
        mine = [entry for entry in access if entry.get("request_id") == "log-me-7"]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert mine and mine[-1]["status"] == 415 and mine[-1]["path"] == "/v1/ocr"
    assert mine[-1]["method"] == "POST" and isinstance(mine[-1]["duration_ms"], int)
    errors = [json.loads(x) for x in server.stderr_path.read_text().splitlines() if x.startswith("{")]
    assert any(e.get("request_id") == "log-me-7" and "415" in e["message"] for e in errors)


def test_each_worker_loads_the_models_exactly_once(server, make_sample):
    image = encode(make_sample(1).image)
    for _ in range(6):
        assert requests.post(server.url + "/v1/ocr", files={"image": image}, timeout=60).status_code == 200
    loads: dict[int, int] = {}
    for line in server.stderr_path.read_text().splitlines():
        if line.startswith("{") and "pipeline ready" in line:
            pid = json.loads(line)["pid"]
            loads[pid] = loads.get(pid, 0) + 1
    assert {pid: loads.get(pid, 0) for pid in server.workers()} == {pid: 1 for pid in server.workers()}
    master = json.loads(next(x for x in server.stderr_path.read_text().splitlines() if "Listening at" in x))
    assert master["pid"] not in loads  # the gunicorn master never loads a model (no preload)
    master_libs = Path(f"/proc/{server.proc.pid}/maps").read_text()
    assert "tensorflow" not in master_libs  # nor even imports TensorFlow: nothing to break across fork
    worker_libs = Path(f"/proc/{min(server.workers())}/maps").read_text()
    assert "tensorflow" in worker_libs
