"""Every setting of the service reaches the web container of both compose stacks.

Compose passes a variable of the env file that Ansible writes (roles/ocr_stack) into the container
only when the service's `environment:` names it; a setting left out there is accepted by the
role's `ocr-service --check-config` and then silently dropped (so it was, once, for OCR_ORIENT
and OCR_PAGE_THREADS).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ocr_service.settings import VARIABLES

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker" / "compose"

# Fixed by the image where its defaults differ from the service's (docker/web/Dockerfile `ENV`), or
# the service's defaults are the image's: port 8080 (EXPOSE) and models at /models (the volume).
FROM_DEFAULTS = {"OCR_PORT", "OCR_MODEL_DIR"}
# Meaningful only beside a TF Serving container.
TFSERVING_ONLY = {"OCR_TFSERVING_GRPC", "OCR_TFSERVING_REST", "OCR_TFSERVING_PROTOCOL"}


def _environment(service: dict) -> set[str]:
    env = service.get("environment") or {}
    return set(env) if isinstance(env, dict) else {item.split("=", 1)[0] for item in env}


def _image_env() -> set[str]:
    dockerfile = (REPO / "docker" / "web" / "Dockerfile").read_text().replace("\\\n", " ")
    names: set[str] = set()
    for line in re.findall(r"^ENV (.+)$", dockerfile, re.M):
        names.update(re.findall(r"(\w+)=", line))
    return names


@pytest.mark.parametrize("mode", ["single", "tfserving"])
def test_every_service_setting_is_passed_to_the_web_container(mode):
    common = _environment(yaml.safe_load((COMPOSE / "common.yml").read_text())["services"]["web"])
    web = _environment(yaml.safe_load((COMPOSE / f"{mode}.yml").read_text())["services"]["web"])
    reaching = common | web | _image_env() | FROM_DEFAULTS
    wanted = {var for var, _ in VARIABLES.values()} - (TFSERVING_ONLY if mode == "single" else set())
    assert wanted - reaching == set(), "add these to docker/compose/common.yml's environment"
