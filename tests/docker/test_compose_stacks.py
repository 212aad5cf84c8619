"""Both compose stacks, for real: images from this checkout, `docker compose up --wait`, OCR through
the published port, TF Serving stopped and started under the web service, and a clean `down`.

In the tfserving stack the TF Serving image is the tests' stand-in (TFSERVING_IMAGE), because
tensorflow/serving cannot be pulled here; the web side, compose file and health checks are real.
"""

from __future__ import annotations

import json

import pytest
from ocr_tools.evaluate import api_lines, read_truth, score_page
from ocrstack_testing.stack import REPO, docker, json_body, ocr, status, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.docker]

SAMPLE = REPO / "samples" / "invoice.png"
TRUTH = read_truth(REPO / "samples" / "invoice.json")


def assert_reads_the_sample(url: str) -> None:
    response = ocr(url, SAMPLE)
    assert response.status_code == 200, response.text[:500]
    body = json_body(response)
    assert (body["width"], body["height"]) == (1000, 800)
    score = score_page(api_lines(body), TRUTH)
    assert score.f1 >= 0.95 and score.cer_norm <= 0.02, score.summary()


def assert_least_privilege(container: str) -> None:
    """Issue 13: no capabilities, no privilege gain, read-only root, memory and pids limits."""
    fmt = "{{json .HostConfig}}"
    host = json.loads(docker("inspect", "--format", fmt, container).stdout)
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"], host["CapDrop"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["ReadonlyRootfs"] is True
    assert host["Memory"] > 0 and host["PidsLimit"] > 0
    probe = docker("exec", container, "sh", "-c", "LC_ALL=C touch /probe 2>&1; echo $?").stdout
    assert "Read-only file system" in probe, probe


def test_single_stack_reads_a_sample_and_down_leaves_nothing(stack_factory):
    stack = stack_factory("single")
    stack.up()
    assert_reads_the_sample(stack.url)
    assert status(f"{stack.url}/healthz") == 200 and status(f"{stack.url}/readyz") == 200
    request_id = json_body(ocr(stack.url, SAMPLE))["request_id"]
    log = stack.compose("exec", "-T", "web", "cat", "/var/log/ocrstack/ocr-service.log").stdout
    assert request_id in log  # the logs volume gets every line too
    ps = docker("inspect", "--format", "{{.State.Health.Status}} {{.Config.User}}", f"{stack.project}-web-1")
    assert ps.stdout.split() == ["healthy", "ocr"]
    assert_least_privilege(f"{stack.project}-web-1")

    assert stack.leftovers()["containers"]
    stack.down()
    assert stack.leftovers() == {"containers": [], "networks": [], "volumes": []}


def test_tfserving_stack_answers_503_while_tfserving_is_down_and_recovers_by_itself(stack_factory, images):
    stack = stack_factory("tfserving", TFSERVING_IMAGE=images["standin"])
    stack.up()
    assert_reads_the_sample(stack.url)
    health = docker("inspect", "--format", "{{.State.Health.Status}}", f"{stack.project}-tfserving-1")
    assert health.stdout.strip() == "healthy"
    assert_least_privilege(f"{stack.project}-tfserving-1")
    assert_least_privilege(f"{stack.project}-web-1")
    user = docker("inspect", "--format", "{{.Config.User}}", f"{stack.project}-tfserving-1").stdout.strip()
    assert user not in ("", "0", "root") and not user.startswith("0:"), user

    web = f"{stack.project}-web-1"
    started_at = docker("inspect", "--format", "{{.State.StartedAt}}", web).stdout
    assert stack.compose("stop", "tfserving").returncode == 0
    response = ocr(stack.url, SAMPLE, timeout=30)
    assert response.status_code == 503, response.text[:300]
    assert json_body(response)["error"]["code"]
    assert status(f"{stack.url}/readyz") == 503
    assert status(f"{stack.url}/healthz") == 200  # the process is fine: only its backend is gone

    assert stack.compose("start", "tfserving").returncode == 0
    wait_until(lambda: status(f"{stack.url}/readyz") == 200, timeout_s=30)  # no restart of web
    assert_reads_the_sample(stack.url)
    assert docker("inspect", "--format", "{{.State.StartedAt}}", web).stdout == started_at  # never restarted

    stack.down()
    assert stack.leftovers() == {"containers": [], "networks": [], "volumes": []}
