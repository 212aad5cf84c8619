"""The ocr_stack preflight stops a host whose service would call a line detector (OCR_DETECTOR)
that the role does not copy or, in mode tfserving, that models.config does not serve: such a
service would never be ready (roles/ocr_stack/tasks/detector.yml).

`_ocr_stack_check_config` stands for the output of `ocr-service --check-config` in the web image,
whose `settings` hold every OCR_* setting (tests/service/web/test_web_settings.py checks that
command); an image from before the setting has no OCR_DETECTOR and reads with ctpn.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from ocrstack_testing.ansible_play import role_tasks_play, run_local_play

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "service" / "tfserving"
EVERY_MODEL = ["ctpn", "dbnet", "crnn", "orient"]  # the role's default ocr_stack_models
PLAY = role_tasks_play("detector")


def preflight(tmp_path: Path, settings: dict, models: list[str], mode: str, config: Path = SHIPPED):
    check = {"rc": 0, "stdout": json.dumps({"settings": settings})}
    extra = {"ocr_mode": mode, "ocr_stack_models": models, "ocr_stack_tfserving_config_src": str(config),
             "_ocr_stack_check_config": check}  # fmt: skip
    return run_local_play(tmp_path, PLAY, extra)


def said(run: subprocess.CompletedProcess) -> str:
    return " ".join(run.stdout.split())


@pytest.mark.parametrize("mode", ["single", "tfserving"])
@pytest.mark.parametrize("detector", ["dbnet", "ctpn"])
def test_the_shipped_models_and_config_pass_with_either_detector(tmp_path, mode, detector):
    run = preflight(tmp_path, {"OCR_DETECTOR": detector}, EVERY_MODEL, mode)
    assert run.returncode == 0, run.stdout[-2000:]


def test_a_detector_left_out_of_the_copied_models_stops_the_host(tmp_path):
    run = preflight(tmp_path, {"OCR_DETECTOR": "dbnet"}, ["ctpn", "crnn", "orient"], "single")
    assert run.returncode != 0
    assert (
        "localhost's service would detect lines with dbnet (OCR_DETECTOR), which ocr_stack_models "
        "(ctpn, crnn, orient) does not copy, so it would never be ready" in said(run)
    )


def test_in_mode_tfserving_a_detector_models_config_does_not_serve_stops_the_host(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    text = (SHIPPED / "models.config").read_text()
    start = text.index("  config {", text.index('name: "ctpn"') - 40)
    end = text.index("  }\n", text.index('name: "dbnet"')) + 4
    (config / "models.config").write_text(text[:start] + text[end:])  # ctpn's and dbnet's blocks out
    assert 'name: "dbnet"' not in (config / "models.config").read_text()
    run = preflight(tmp_path, {"OCR_DETECTOR": "dbnet"}, EVERY_MODEL, "tfserving", config)
    assert run.returncode != 0
    assert f"or {config}/models.config does not serve (crnn, orient)" in said(run)
    # the same config in mode single is not TF Serving's to serve: no stop
    assert preflight(tmp_path, {"OCR_DETECTOR": "dbnet"}, EVERY_MODEL, "single", config).returncode == 0


def test_an_image_from_before_the_setting_is_taken_to_read_with_ctpn(tmp_path):
    assert preflight(tmp_path, {"OCR_WORKERS": "2"}, ["ctpn", "crnn"], "single").returncode == 0
    run = preflight(tmp_path, {"OCR_WORKERS": "2"}, ["dbnet", "crnn"], "single")
    assert run.returncode != 0 and "would detect lines with ctpn (OCR_DETECTOR)" in said(run)
