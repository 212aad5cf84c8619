"""One place derives every image name and the GPU default (issue 11 defect 12): the role `ocr`.

A play on localhost with the three roles' shared dependency prints what ocr_images ships,
ocr_stack runs and ocr_lb starts; bumping ocr_version (or flipping ocr_gpu) moves every name at
once. (molecule/ocr_stack then runs the stack on the bumped release's images.)
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from ocrstack_testing.ansible_play import run_local_play

REPO = Path(__file__).resolve().parents[2]
RELEASE = (REPO / "VERSION").read_text().strip()
PLAY = """
- hosts: localhost
  gather_facts: false
  roles:
    - role: ocr
  tasks:
    - name: names
      ansible.builtin.debug:
        msg: "OCR={{ {'gpu': ocr_gpu | bool, 'mode': ocr_mode, 'web': ocr_web_image,
                      'tfserving': ocr_tfserving_image, 'lb': ocr_lb_image} | to_json }}"
"""


def names(tmp_path: Path, *extra: str) -> dict:
    run = run_local_play(tmp_path, PLAY, None, *extra)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    line = next(x for x in run.stdout.splitlines() if '"msg": "OCR=' in x)
    return json.loads(json.loads("{" + line.strip() + "}")["msg"][len("OCR=") :])


def images(*args: str) -> str:
    command = [str(REPO / "docker" / "images"), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize(("gpu", "flavour"), [("true", "gpu"), ("false", "cpu")])
def test_a_bumped_release_moves_every_image_name_at_once(tmp_path, gpu, flavour):
    bumped = names(tmp_path, "-e", "ocr_version=9.9.9", "-e", f"ocr_gpu={gpu}")
    assert bumped["web"] == "ocrstack/web:9.9.9-" + flavour
    assert bumped["lb"] == "ocrstack/lb:9.9.9"
    assert bumped["tfserving"] == images("--flavour", flavour, "tfserving")  # TF's version, not ours


def test_defaults_are_this_checkouts_release_on_a_gpu_host_in_mode_single(tmp_path):
    assert names(tmp_path) == {
        "gpu": True,
        "mode": "single",
        "web": f"ocrstack/web:{RELEASE}-gpu",
        "tfserving": images("--flavour", "gpu", "tfserving"),
        "lb": f"ocrstack/lb:{RELEASE}",
    }
