"""Helpers of the container tests: the docker CLI, one compose project on a free port, HTTP probes."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[3]
VERSION = (REPO / "VERSION").read_text().strip()


def image_name(*args: str) -> str:
    """An image's name as docker/build tags it (docker/images, the one owner of the names)."""
    command = [str(REPO / "docker" / "images"), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


WEB_IMAGE = image_name("--flavour", "cpu", "web")
STANDIN_IMAGE = image_name("standin")
COMPOSE_DIR = REPO / "docker" / "compose"


def docker(*args: str, check: bool = True, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *args], check=check, capture_output=True, text=True, timeout=timeout, **kwargs
    )


def require_docker() -> None:
    """Skip where there is no engine, except in CI, where a missing engine is a failure."""
    ok = shutil.which("docker") is not None and docker("info", check=False, timeout=30).returncode == 0
    if not ok:
        message = "no Docker engine: start one (CI: .ci/docker-engine)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    """One compose project from docker/compose/, on a free loopback port, with a unique name."""

    mode: str
    env: dict[str, str]
    project: str = field(default_factory=lambda: f"ocrtest-{uuid.uuid4().hex[:8]}")
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def compose(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        env = {
            **os.environ, **self.env, "OCR_PROJECT": self.project,
            "OCR_PUBLISH_ADDRESS": "127.0.0.1", "OCR_PUBLISH_PORT": str(self.port),
        }  # fmt: skip
        command = ["compose", "-f", str(COMPOSE_DIR / f"{self.mode}.yml"), *args]
        return docker(*command, check=False, timeout=timeout, env=env)

    def up(self) -> None:
        run = self.compose("up", "--detach", "--wait", "--wait-timeout", "300")
        assert run.returncode == 0, run.stderr[-3000:] + self.compose("logs", "--tail", "50").stdout

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, networks and volumes that still carry this project's label."""
        label = f"label=com.docker.compose.project={self.project}"
        commands = {
            "containers": ("ps", "--all", "--format", "{{.Names}}"),
            "networks": ("network", "ls", "--format", "{{.Name}}"),
            "volumes": ("volume", "ls", "--format", "{{.Name}}"),
        }
        return {kind: docker(*args, "--filter", label).stdout.split() for kind, args in commands.items()}

    def down(self) -> None:
        self.compose("down", "--volumes", "--timeout", "30")


def ocr(url: str, image: Path, timeout: float = 60) -> requests.Response:
    with image.open("rb") as f:
        return requests.post(f"{url}/v1/ocr", files={"image": (image.name, f, "image/png")}, timeout=timeout)


def wait_until(predicate, timeout_s: float, interval_s: float = 0.5) -> float:
    """Seconds until predicate() is true; fails the test after timeout_s."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if predicate():
            return time.monotonic() - start
        time.sleep(interval_s)
    pytest.fail(f"not reached within {timeout_s} s")


def status(url: str) -> int:
    try:
        return requests.get(url, timeout=5).status_code
    except requests.RequestException:
        return 0


def json_body(response: requests.Response) -> dict:
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
    return json.loads(response.text)
