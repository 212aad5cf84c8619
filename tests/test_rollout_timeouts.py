"""The timeouts a rolling deploy relies on agree with each other (read from their one owner each):
a container stopped by compose gets longer than gunicorn's graceful shutdown, so the requests it
still runs finish; the load balancer waits at least its server timeout for a drained host's
requests before the host changes."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", str(value).strip())
    assert match, f"not a compose duration: {value!r}"
    number, unit = float(match[1]), match[2]
    return number / 1000 if unit == "ms" else number * 60 if unit == "m" else number


def test_compose_stop_grace_period_outlasts_gunicorns_graceful_timeout():
    gunicorn_conf = (REPO / "service" / "ocr_service" / "gunicorn.conf.py").read_text()
    graceful = float(re.search(r"^graceful_timeout = (\d+(?:\.\d+)?)$", gunicorn_conf, re.M)[1])
    web = yaml.safe_load((REPO / "docker" / "compose" / "common.yml").read_text())["services"]["web"]
    assert _seconds(web["stop_grace_period"]) > graceful


def test_drain_waits_at_least_the_load_balancers_server_timeout():
    defaults = yaml.safe_load((REPO / "roles" / "ocr_lb" / "defaults" / "main.yml").read_text())
    assert defaults["ocr_lb_drain_timeout_s"] >= defaults["ocr_lb_timeout_server_s"]
