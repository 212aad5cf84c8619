"""In mode tfserving a pinned model version (OCR_MODEL_VERSION_CTPN / _CRNN) must be one TF Serving
loads; the ocr_stack preflight refuses a pin its models.config would leave unloaded, before anything
on the host changes (roles/ocr_stack/tasks/pinned_versions.yml).

The shipped models.config serves the latest version only; the other configs here are that file with
one policy changed, as an operator would write it (ServableVersionPolicy: `all {}`, or `specific`
with repeated `versions`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from ocrstack_testing.ansible_play import role_tasks_play, run_local_play

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "service" / "tfserving"
LATEST = "model_version_policy { latest { num_versions: 1 } }"
PLAY = role_tasks_play("pinned_versions")


def config_with(tmp_path: Path, model: str, policy: str) -> Path:
    """The shipped models.config, `model`'s version policy replaced by `policy`."""
    text = (SHIPPED / "models.config").read_text()
    start = text.index(f'name: "{model}"')
    at = text.index(LATEST, start)
    folder = tmp_path / f"config-{model}"
    folder.mkdir()
    (folder / "models.config").write_text(text[:at] + policy + text[at + len(LATEST) :])
    return folder


def preflight(tmp_path: Path, config: Path, env: dict, mode="tfserving") -> subprocess.CompletedProcess:
    extra = {"ocr_mode": mode, "ocr_stack_tfserving_config_src": str(config), "ocr_stack_env": env}
    return run_local_play(tmp_path, PLAY, extra)


def test_a_pin_the_shipped_config_would_not_load_stops_with_what_to_do(tmp_path):
    run = preflight(tmp_path, SHIPPED, {"OCR_MODEL_VERSION_CRNN": 1, "OCR_WORKERS": 2})
    assert run.returncode != 0
    out = " ".join((run.stdout + run.stderr).split())
    assert "OCR_MODEL_VERSION_CRNN=1 (ocr_stack_env) pins crnn to version 1" in out
    assert "`model_version_policy { specific { versions: 1 } }`" in out
    assert "point ocr_stack_tfserving_config_src at the copy" in out


@pytest.mark.parametrize(
    ("policy", "pin", "ok"),
    [
        ("model_version_policy { specific { versions: 1 versions: 3 } }", "3", True),
        ("model_version_policy {\n  specific {\n    versions: 1\n  }\n}", 1, True),
        ("model_version_policy { all {} }", 2, True),
        ("model_version_policy { specific { versions: 1 versions: 3 } }", 2, False),
    ],
)
def test_a_pin_passes_when_the_config_loads_that_version(tmp_path, policy, pin, ok):
    config = config_with(tmp_path, "crnn", policy)
    run = preflight(tmp_path, config, {"OCR_MODEL_VERSION_CRNN": pin})
    assert (run.returncode == 0) is ok, run.stdout[-2000:]
    # the other model keeps the latest policy: a pin of it is refused
    run = preflight(tmp_path, config, {"OCR_MODEL_VERSION_CTPN": 1})
    assert run.returncode != 0 and "pins ctpn to version 1" in " ".join(run.stdout.split())


def test_without_a_pin_or_in_mode_single_nothing_is_asked_of_the_config(tmp_path):
    assert preflight(tmp_path, SHIPPED, {"OCR_MODEL_VERSION_CRNN": ""}).returncode == 0
    assert preflight(tmp_path, SHIPPED, {"OCR_MODEL_VERSION_CRNN": 1}, mode="single").returncode == 0
