"""What the operator meets at 3 a.m.: a worker killed under load, models missing, TF Serving down.

Each scenario asserts that clients get honest answers (200 with the right text, or a 503 saying why,
never a 500) and that the service recovers by itself.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from concurrent.futures import ThreadPoolExecutor, wait

import pytest
import requests
from ocr_service.settings import Settings
from ocrstack_testing.standin import StandIn, models_config
from ocrstack_testing.web import Gunicorn, encode, read_text


def post(url: str, data: bytes) -> tuple[object, object]:
    """(status, body) or ("connection", error) when the connection itself broke.

    A worker killed while it sends a response cuts the body short: urllib3 raises IncompleteRead,
    which requests reports as ChunkedEncodingError, not ConnectionError. Both are a broken connection.
    """
    try:
        response = requests.post(url + "/v1/ocr", files={"image": ("p.png", data)}, timeout=120)
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        return "connection", str(exc)
    return response.status_code, response.json()


def test_killed_worker_is_replaced_while_other_requests_succeed(server, make_sample):
    sample = make_sample(2)
    data = encode(sample.image)
    before = server.workers()
    victim = min(before)
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(post, server.url, data) for _ in range(30)]
        wait(futures[:4], timeout=60)
        os.kill(victim, signal.SIGKILL)
        results = [future.result(timeout=180) for future in futures]

    answered = [body for status, body in results if status == 200]
    broken = [status for status, _ in results if status != 200]
    assert set(broken) <= {"connection"}, results  # only the victim's own connections, never a 5xx
    assert len(broken) <= 6  # at most the requests in flight when it died
    assert all(sample.matches(read_text(body)) for body in answered)

    (new_pid,) = server.wait_workers_ready(1, exclude=frozenset(before))  # warmed up before serving
    assert server.workers() == (before - {victim}) | {new_pid}
    for _ in range(6):
        status, body = post(server.url, data)
        assert status == 200 and sample.matches(read_text(body))


@pytest.mark.slow
def test_missing_models_answer_503_with_the_reason_and_recover(model_dir, make_sample, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    service = Gunicorn(
        {"OCR_MODE": "single", "OCR_MODEL_DIR": str(models), "OCR_WORKERS": "1", "OCR_THREADS": "2"},
        tmp_path / "logs",
    )
    service.start()
    try:
        assert service.wait_until("/healthz", 200).json() == {"status": "ok"}
        not_ready = service.wait_until("/readyz", 503).json()
        assert not_ready["status"] == "not_ready" and "no version directory" in not_ready["reason"]
        assert str(models) not in not_ready["reason"]  # the path is the log's, not the client's
        sample = make_sample(1)
        status, body = post(service.url, encode(sample.image))
        assert status == 503 and body["error"]["code"] == "backend_unavailable"
        assert (
            "no version directory" in body["error"]["message"] and str(models) not in body["error"]["message"]
        )

        for name in Settings().models:  # the operator copies the models in; no restart
            shutil.copytree(model_dir / name, models / name)
        assert service.wait_until("/readyz", 200, timeout_s=120).json()["status"] == "ready"
        status, body = post(service.url, encode(sample.image))
        assert status == 200 and sample.matches(read_text(body))
    finally:
        service.stop()


def serving_config(model_dir, path):
    """A models.config serving the models the service calls from `model_dir`, as service/tfserving/ does."""
    path.write_text(models_config(model_dir, Settings().models))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["grpc", "rest"])
def test_tfserving_down_returns_503_and_recovers(protocol, model_dir, make_sample, tmp_path):
    standin = StandIn(serving_config(model_dir, tmp_path / "models.config"), tmp_path / "standin.log")
    service = Gunicorn(
        {
            "OCR_MODE": "tfserving",
            "OCR_TFSERVING_PROTOCOL": protocol,
            "OCR_TFSERVING_GRPC": f"127.0.0.1:{standin.grpc_port}",
            "OCR_TFSERVING_REST": f"http://127.0.0.1:{standin.rest_port}",
            "OCR_TIMEOUT_S": "5",
            "OCR_WORKERS": "1",
        },
        tmp_path / "logs",
    )
    sample = make_sample(2)
    service.start()  # TF Serving is not there yet: the service starts anyway and says why
    try:
        assert service.wait_until("/readyz", 503).json()["status"] == "not_ready"
        status, body = post(service.url, encode(sample.image))
        assert status == 503 and body["error"]["code"] == "backend_unavailable"
        assert str(standin.grpc_port) not in json.dumps(body)  # no internal address in the answer

        standin.start()
        service.wait_until("/readyz", 200, timeout_s=150)
        status, body = post(service.url, encode(sample.image))
        assert status == 200 and sample.matches(read_text(body))

        standin.stop()  # TF Serving dies under a running service
        status, body = post(service.url, encode(sample.image))
        assert status == 503 and body["error"]["code"] == "backend_unavailable", body
        assert service.wait_until("/readyz", 503).json()["status"] == "not_ready"

        standin.start()  # and comes back: the same worker recovers without a restart
        service.wait_until("/readyz", 200, timeout_s=150)
        status, body = post(service.url, encode(sample.image))
        assert status == 200 and sample.matches(read_text(body))
    finally:
        service.stop()
        standin.stop()
