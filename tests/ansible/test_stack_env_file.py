"""The per-host .env of the ocr_stack role (templates/env.j2), rendered by Ansible as on a host.

Compose reads it for interpolation: `--enable_batching=${TFSERVING_ENABLE_BATCHING:-true}` becomes
TF Serving's command line, whose boolean flags take `true` or `false` only (tensorflow/core/util/
command_line_flags.cc, ParseBoolFlag), so a YAML boolean of ocr_stack_env must not be written as
Python's `False`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ocrstack_testing.ansible_play import run_local_play

REPO = Path(__file__).resolve().parents[2]
PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.template:
        src: "{{ repo }}/roles/ocr_stack/templates/env.j2"
        dest: "{{ out }}"
        mode: "0600"
"""


def render(tmp_path: Path, env: dict) -> dict[str, str]:
    out = tmp_path / "env"
    extra = {
        "repo": str(REPO), "out": str(out), "ocr_mode": "tfserving", "ocr_gpu": False,
        "ocr_stack_project": "ocrstack", "ocr_web_image": "ocrstack/web:1-cpu",
        "ocr_tfserving_image": "registry.example.com/tfserving:test",
        "ocr_stack_publish_address": "127.0.0.1",
        "ocr_stack_publish_port": 8080, "ocr_stack_models_dir": "/opt/ocrstack/models",
        "ocr_stack_tfserving_config_dir": "/opt/ocrstack/tfserving",
        "ocr_stack_compose_dir": "/opt/ocrstack/compose",
        "_ocr_stack_web_memory_mib": "", "ocr_stack_web_pids_limit": 1024,
        "ocr_stack_tfserving_memory_limit_mib": 4096, "ocr_stack_tfserving_pids_limit": 1024,
        "ocr_stack_env": env, "ansible_python_interpreter": sys.executable,
    }  # fmt: skip
    run = run_local_play(tmp_path, PLAY, extra)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    lines = [line for line in out.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_yaml_booleans_are_written_as_tf_serving_and_the_service_read_them(tmp_path):
    env = render(tmp_path, {"TFSERVING_ENABLE_BATCHING": False, "OCR_ORIENT": True, "OCR_WORKERS": 4})
    assert env["TFSERVING_ENABLE_BATCHING"] == "false"
    assert env["OCR_ORIENT"] == "true"
    assert env["OCR_WORKERS"] == "4"
    assert env["TFSERVING_IMAGE"] == "registry.example.com/tfserving:test"
