"""Settings: every OCR_* variable parsed into the typed object; a bad value stops the start cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ocr_service.settings import MiB, Settings, SettingsError, load_settings

CONF = Path(__import__("ocr_service").__file__).with_name("gunicorn.conf.py")


def test_defaults_when_nothing_is_set():
    s = load_settings({"OCR_MODEL_DIR": "/srv/models"})
    assert s == Settings(model_dir=Path("/srv/models"))
    assert (s.mode, s.host, s.port, s.workers, s.threads) == ("single", "127.0.0.1", 8080, 2, 2)
    assert (s.tfserving_grpc, s.tfserving_rest, s.tfserving_protocol) == (
        "127.0.0.1:8500",
        "http://127.0.0.1:8501",
        "grpc",
    )
    assert (s.timeout_s, s.max_upload_bytes, s.max_pixels) == (10.0, 10 * MiB, 40_000_000)
    assert s.log_format == "json"
    assert s.detector == "dbnet" and s.models == ("dbnet", "crnn")
    assert s.model_versions == {"ctpn": None, "dbnet": None, "crnn": None}
    assert s.max_request_bytes == 10 * MiB * 4 // 3 + 65536


def test_every_variable_is_read():
    s = load_settings(
        {
            "OCR_MODE": "TFServing",
            "OCR_HOST": "0.0.0.0",
            "OCR_PORT": "9000",
            "OCR_WORKERS": "4",
            "OCR_THREADS": "8",
            "OCR_MODEL_DIR": "/models",
            "OCR_TFSERVING_GRPC": "tfserving:8500",
            "OCR_TFSERVING_REST": "http://tfserving:8501/",
            "OCR_TFSERVING_PROTOCOL": "rest",
            "OCR_MODEL_VERSION_CTPN": "3",
            "OCR_MODEL_VERSION_CRNN": "",
            "OCR_TIMEOUT_S": "2.5",
            "OCR_MAX_UPLOAD_BYTES": "1048576",
            "OCR_MAX_PIXELS": "40e6",
            "OCR_LOG_FORMAT": "text",
        }
    )
    assert s == Settings(
        mode="tfserving",
        host="0.0.0.0",
        port=9000,
        workers=4,
        threads=8,
        model_dir=Path("/models"),
        tfserving_grpc="tfserving:8500",
        tfserving_rest="http://tfserving:8501",
        tfserving_protocol="rest",
        model_version_ctpn=3,
        model_version_crnn=None,
        timeout_s=2.5,
        max_upload_bytes=1048576,
        max_pixels=40_000_000,
        log_format="text",
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("OCR_MODE", "cluster", "OCR_MODE='cluster' is not valid: allowed values are 'single' or 'tfs"),
        ("OCR_PORT", "80a", "OCR_PORT='80a' is not valid: allowed values are integers from 1 to 65535."),
        ("OCR_PORT", "70000", "OCR_PORT='70000' is not valid: allowed values are integers from 1 to 65535."),
        ("OCR_WORKERS", "0", "OCR_WORKERS='0' is not valid: allowed values are integers from 1 to 64."),
        ("OCR_THREADS", "1.5", "OCR_THREADS='1.5' is not valid: allowed values are integers from 1 to 64."),
        ("OCR_TFSERVING_PROTOCOL", "http", "allowed values are 'grpc' or 'rest'."),
        ("OCR_TFSERVING_GRPC", "tfserving", "allowed values are host:port, e.g. 'tfserving:8500'."),
        ("OCR_TFSERVING_REST", "tfserving:8501", "allowed values are http(s) URLs"),
        ("OCR_TIMEOUT_S", "0", "OCR_TIMEOUT_S='0' is not valid: allowed values are numbers above 0.0"),
        ("OCR_TIMEOUT_S", "nan", "OCR_TIMEOUT_S='nan' is not valid"),
        ("OCR_MAX_PIXELS", "lots", "OCR_MAX_PIXELS='lots' is not valid: allowed values are integers"),
        ("OCR_MODEL_VERSION_CRNN", "latest", "OCR_MODEL_VERSION_CRNN='latest' is not valid"),
        ("OCR_LOG_FORMAT", "xml", "OCR_LOG_FORMAT='xml' is not valid: allowed values are 'json' or 'text'."),
        (
            "OCR_MIN_CONFIDENCE",
            "1.5",
            "allowed values are numbers from 0 to 1.",
        ),
        ("OCR_MIN_CONFIDENCE", "nan", "OCR_MIN_CONFIDENCE='nan' is not valid"),
        ("OCR_MAX_BATCH", "0", "OCR_MAX_BATCH='0' is not valid: allowed values are integers from 1 to 256."),
        (
            "OCR_PDF_DPI",
            "2400",
            "OCR_PDF_DPI='2400' is not valid: allowed values are integers from 36",
        ),
        (
            "OCR_MAX_PAGES",
            "-1",
            "OCR_MAX_PAGES='-1' is not valid: allowed values are integers from 1 to",
        ),
    ],
)
def test_bad_value_names_the_variable_and_the_allowed_values(name, value, message):
    with pytest.raises(SettingsError) as info:
        load_settings({name: value})
    assert message in str(info.value)


def test_an_unset_variable_leaves_the_field_default_stated_once_in_settings():
    # load_settings has no defaults of its own: every field not in the environment keeps the
    # dataclass default, so the default of each OCR_* setting is written in one place.
    from dataclasses import fields

    from ocr_service.settings import VARIABLES

    assert set(VARIABLES) == {f.name for f in fields(Settings)}
    assert load_settings({}) == Settings()
    assert load_settings({"OCR_WORKERS": "5"}) == Settings(workers=5)


def test_gpu_memory_per_worker_is_a_setting():
    assert load_settings({}).gpu_memory_mib is None  # memory growth
    assert load_settings({"OCR_GPU_MEMORY_MIB": "7000"}).gpu_memory_mib == 7000
    assert load_settings({"OCR_GPU_MEMORY_MIB": ""}).gpu_memory_mib is None
    with pytest.raises(SettingsError, match="OCR_GPU_MEMORY_MIB='12' is not valid"):
        load_settings({"OCR_GPU_MEMORY_MIB": "12"})


def _check_config(env_update: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCR_")}
    env.update(env_update)
    command = [sys.executable, "-m", "ocr_service.launcher", "--check-config", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_check_config_prints_the_effective_settings_and_serves_nothing():
    done = _check_config({"OCR_WORKERS": "3", "OCR_PORT": "1"})
    assert done.returncode == 0, done.stderr
    settings = json.loads(done.stdout)["settings"]
    assert (settings["OCR_WORKERS"], settings["OCR_PORT"], settings["OCR_MODE"]) == ("3", "1", "single")
    assert settings["OCR_MAX_PIXELS"] == str(Settings.max_pixels)


def test_check_config_sizes_each_workers_gpu_share_and_refuses_what_cannot_fit():
    done = _check_config({"OCR_WORKERS": "3"}, "--gpu-memory-total-mib", "16384")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["settings"]["OCR_GPU_MEMORY_MIB"] == str((16384 - 1024) // 3)

    done = _check_config({"OCR_WORKERS": "8"}, "--gpu-memory-total-mib", "8192")
    assert done.returncode == 2
    assert done.stderr.startswith("ocr-service: configuration error: OCR_WORKERS=8 does not fit on a GPU")
    assert "Set OCR_WORKERS to 4 or fewer" in done.stderr
    assert "Traceback" not in done.stderr

    done = _check_config({"OCR_MODE": "cluster"})
    assert done.returncode == 2
    assert "OCR_MODE='cluster' is not valid" in done.stderr


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        load_settings({}).port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "ocr_service.launcher"],  # the `ocr-service` console script
        [sys.executable, "-m", "gunicorn", "--config", str(CONF)],  # gunicorn with the packaged config
    ],
    ids=["ocr-service", "gunicorn-c-conf"],
)
def test_bad_value_stops_the_start_with_one_sentence(command):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCR_")}
    env.update({"OCR_MODE": "cluster", "OCR_PORT": "1"})  # port 1: nothing may bind if validation failed
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == (
        "ocr-service: configuration error: "
        "OCR_MODE='cluster' is not valid: allowed values are 'single' or 'tfserving'.\n"
    )
    assert "Traceback" not in done.stdout + done.stderr


def test_log_dir_must_be_a_writable_directory(tmp_path):
    assert load_settings({"OCR_LOG_DIR": str(tmp_path)}).log_dir == tmp_path
    assert load_settings({"OCR_LOG_DIR": ""}).log_dir is None
    message = "OCR_LOG_DIR='/no/such/dir' is not valid: it must be an existing directory"
    with pytest.raises(SettingsError, match=message):
        load_settings({"OCR_LOG_DIR": "/no/such/dir"})


def test_healthcheck_probes_readyz_on_loopback_when_bound_to_every_address():
    from ocr_service.healthcheck import readyz_url

    assert readyz_url("0.0.0.0", 8080) == "http://127.0.0.1:8080/readyz"
    assert readyz_url("::", 9000) == "http://[::1]:9000/readyz"
    assert readyz_url("10.0.0.5", 8080) == "http://10.0.0.5:8080/readyz"
