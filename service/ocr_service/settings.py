"""Every knob of the service, read once from the environment into one typed, frozen object.

The deployment (compose files, the inventory behind them) speaks to the service only through
`OCR_*` variables; this module is the one place that reads them. A bad value stops the service at
start with one sentence naming the variable and what it accepts, instead of a traceback at 3 a.m.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

MiB = 1024 * 1024


class SettingsError(ValueError):
    """One environment variable has a value the service cannot run with."""


def default_model_dir() -> Path:
    """The checkout's `models/` when running from a source tree, else /models (the images' mount)."""
    root = Path(__file__).resolve().parents[2]
    if (root / "service" / "pyproject.toml").is_file() and (root / "models").is_dir():
        return root / "models"
    return Path("/models")


# The line detectors a service can call (OCR_DETECTOR; `Settings.detector` is typed with the same two).
DETECTORS = ("ctpn", "dbnet")


@dataclass(frozen=True)
class Settings:
    """The one place every OCR_* default is stated (docs/architecture.md lists the variables)."""

    mode: Literal["single", "tfserving"] = "single"
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    threads: int = 2
    model_dir: Path = field(default_factory=default_model_dir)
    tfserving_grpc: str = "127.0.0.1:8500"
    tfserving_rest: str = "http://127.0.0.1:8501"
    tfserving_protocol: Literal["grpc", "rest"] = "grpc"
    # The line detector (issue 12): `dbnet` (DB, a segmentation network; models/dbnet) or `ctpn`
    # (models/ctpn, the detector of earlier releases). Only the one chosen is called, and TF Serving
    # must serve it (service/tfserving/models.config serves both). DB reads real receipts better
    # (sroie/dev page CER 7.3% against 9.3%), CTPN generated pages in held-out typefaces a little
    # better (line CERn 0.72% against 0.84%): models/README.md.
    detector: Literal["ctpn", "dbnet"] = "dbnet"
    model_version_ctpn: int | None = None
    model_version_dbnet: int | None = None
    model_version_crnn: int | None = None
    # The deadline of a whole request (decode, both models, every line batch), counted from the
    # moment its headers arrived; each model call (in-process, gRPC, REST) gets what is left of it.
    # Below the load balancer's `timeout server` (roles/ocr_lb) and gunicorn's graceful_timeout.
    timeout_s: float = 10.0
    max_upload_bytes: int = 10 * MiB
    max_pixels: int = 40_000_000
    # Longer side / shorter side. The detector fits the longer side into its input, so a 12 x 300000
    # strip would be read as a 1600 x 0.06 px one: nothing legible, only cost. Refused with 422.
    max_aspect_ratio: float = 50.0
    # Text lines read per request; a page with more is refused (422) before any line is fitted or
    # cropped, so the work per request has a known bound (a dense A4 page has about 100; each line
    # costs ~23 ms of recogniser on a 2-core CPU, bench/hostile_inputs.py).
    max_lines: int = 256
    # The images or pages of one request that are detected at once (a thread each): their pre- and
    # post-processing overlaps the detector's calls. 6-page PDF on the 2-core CPU: 0.39 pages/s with
    # 1, 0.52 with 2 (bench/load.py --document 6, service/README.md). 1: one after the other.
    page_threads: int = 2
    # Page orientation (issue 14 item 2): each image or page is turned upright (0/90/180/270) by the
    # `orient` model (models/orient/<version>) before it is read; the answer says `rotation`. Off by
    # default: on, the runner also serves `orient`, so TF Serving must serve it (models.config).
    orient: bool = False
    # Security headers (X-Content-Type-Options, X-Frame-Options, a CSP, no-referrer) on every
    # answer. Off only behind a proxy that sets its own.
    security_headers: bool = True
    log_format: Literal["json", "text"] = "json"
    log_dir: Path | None = None
    # The log file under log_dir is moved to ocr-service.log.1 at this size (0: never, for hosts
    # whose logrotate does it), so a file in a volume cannot fill the disk.
    log_file_max_bytes: int = 50 * MiB
    # Mode single on a GPU: each gunicorn worker's share of GPU memory in MiB (None: TensorFlow's
    # memory growth). The deployment sizes it from the GPU's memory and OCR_WORKERS
    # (ocr_service.device.memory_per_worker_mib), so that the second worker is not left without.
    gpu_memory_mib: int | None = None
    # Per-request options (ocr_service.options): the values a request gets when it does not say.
    # Lines read with less confidence are left out: on real receipts most of them are not text
    # (handwriting, stamps, rules). Chosen on sroie/train with the bundled models (page CER 33.4% at
    # 0, 31.3% at 0.5, best 29.4% at 0.7); above 0.5 our own and the held-out sets start to lose true
    # lines (models/README.md, "Leaving out lines read with little confidence").
    min_confidence: float = 0.5
    # Several images in one request (ocr_service.batch): at most this many images or pages.
    max_batch: int = 16
    # Documents (ocr_service.documents): PDF pages are rendered at this resolution; a PDF or a
    # multi-page TIFF may have at most max_pages pages, each at most max_pixels once rendered.
    pdf_dpi: int = 150
    max_pages: int = 20
    # Async jobs (ocr_service.jobs): their folder (unset: /v1/jobs is off) and how long they are kept.
    jobs_dir: Path | None = None
    jobs_ttl_s: int = 86400

    @property
    def model_versions(self) -> dict[str, int | None]:
        """Version pins in the form the runners take (None: the latest version)."""
        return {
            "ctpn": self.model_version_ctpn,
            "dbnet": self.model_version_dbnet,
            "crnn": self.model_version_crnn,
        }

    @property
    def models(self) -> tuple[str, ...]:
        """The models this service calls: its detector, the recogniser, and `orient` when on."""
        return (self.detector, "crnn") + (("orient",) if self.orient else ())

    @property
    def max_request_bytes(self) -> int:
        """Largest request body accepted: the image limit plus base64 and multipart overhead."""
        return self.max_upload_bytes * 4 // 3 + 64 * 1024


def _choice(name: str, raw: str, allowed: tuple[str, ...]) -> str:
    value = raw.strip().lower()
    if value not in allowed:
        options = " or ".join(f"'{a}'" for a in allowed)
        raise SettingsError(f"{name}={raw!r} is not valid: allowed values are {options}.")
    return value


def _int(name: str, raw: str, low: int, high: int) -> int:
    try:
        # float() first so that "40e6" and "1e7" are accepted for the big limits.
        number = float(raw.strip())
        value = int(number)
        ok = number == value
    except (ValueError, OverflowError):
        ok = False
    if not ok or not low <= value <= high:
        raise SettingsError(f"{name}={raw!r} is not valid: allowed values are integers from {low} to {high}.")
    return value


def _float(name: str, raw: str, low: float, high: float) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        value = float("nan")
    if not low < value <= high:
        raise SettingsError(
            f"{name}={raw!r} is not valid: allowed values are numbers above {low} up to {high}."
        )
    return value


def _unit_float(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise SettingsError(f"{name}={raw!r} is not valid: allowed values are numbers from 0 to 1.")
    return value


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r} is not valid: allowed values are true or false.")


def _host_port(name: str, raw: str) -> str:
    value = raw.strip()
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise SettingsError(
            f"{name}={raw!r} is not valid: allowed values are host:port, e.g. 'tfserving:8500'."
        )
    return value


def _url(name: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            f"{name}={raw!r} is not valid: allowed values are http(s) URLs, e.g. 'http://tfserving:8501'."
        )
    return value


def _host(name: str, raw: str) -> str:
    value = raw.strip()
    if not value or not re.fullmatch(r"[A-Za-z0-9.:\-\[\]]+", value):
        raise SettingsError(f"{name}={raw!r} is not valid: allowed values are an IP address or host name.")
    return value


def _version(name: str, raw: str) -> int | None:
    if not raw.strip():
        return None
    return _int(name, raw, 1, 2**63 - 1)


def _path(name: str, raw: str) -> Path:
    if not raw.strip():
        raise SettingsError(f"{name} is empty: allowed values are a directory path.")
    return Path(raw.strip())


def _optional_dir(name: str, raw: str) -> Path | None:
    """An existing, writable directory, or None when empty (log to stdout/stderr only)."""
    if not raw.strip():
        return None
    path = Path(raw.strip())
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise SettingsError(
            f"{name}={raw!r} is not valid: it must be an existing directory this user can write to."
        )
    return path


def _optional_int(low: int, high: int) -> Callable[[str, str], int | None]:
    def parse(name: str, raw: str) -> int | None:
        return None if not raw.strip() else _int(name, raw, low, high)

    return parse


def _ints(low: int, high: int) -> Callable[[str, str], int]:
    return lambda name, raw: _int(name, raw, low, high)


def _choices(*allowed: str) -> Callable[[str, str], str]:
    return lambda name, raw: _choice(name, raw, allowed)


# Field -> (environment variable, parser). The defaults are the Settings fields' own: a variable
# that is not set leaves its field at the default, so no default is written twice.
VARIABLES: dict[str, tuple[str, Callable[[str, str], object]]] = {
    "mode": ("OCR_MODE", _choices("single", "tfserving")),
    "host": ("OCR_HOST", _host),
    "port": ("OCR_PORT", _ints(1, 65535)),
    "workers": ("OCR_WORKERS", _ints(1, 64)),
    "threads": ("OCR_THREADS", _ints(1, 64)),
    "model_dir": ("OCR_MODEL_DIR", _path),
    "tfserving_grpc": ("OCR_TFSERVING_GRPC", _host_port),
    "tfserving_rest": ("OCR_TFSERVING_REST", _url),
    "tfserving_protocol": ("OCR_TFSERVING_PROTOCOL", _choices("grpc", "rest")),
    "detector": ("OCR_DETECTOR", _choices(*DETECTORS)),
    "model_version_ctpn": ("OCR_MODEL_VERSION_CTPN", _version),
    "model_version_dbnet": ("OCR_MODEL_VERSION_DBNET", _version),
    "model_version_crnn": ("OCR_MODEL_VERSION_CRNN", _version),
    "timeout_s": ("OCR_TIMEOUT_S", lambda n, r: _float(n, r, 0.0, 3600.0)),
    "max_upload_bytes": ("OCR_MAX_UPLOAD_BYTES", _ints(1, 2**31)),
    "max_pixels": ("OCR_MAX_PIXELS", _ints(1, 2**40)),
    "max_aspect_ratio": ("OCR_MAX_ASPECT_RATIO", lambda n, r: _float(n, r, 1.0, 1e9)),
    "max_lines": ("OCR_MAX_LINES", _ints(1, 100_000)),
    "page_threads": ("OCR_PAGE_THREADS", _ints(1, 16)),
    "orient": ("OCR_ORIENT", _bool),
    "security_headers": ("OCR_SECURITY_HEADERS", _bool),
    "log_format": ("OCR_LOG_FORMAT", _choices("json", "text")),
    "log_dir": ("OCR_LOG_DIR", _optional_dir),
    "log_file_max_bytes": ("OCR_LOG_FILE_MAX_BYTES", _ints(0, 2**40)),
    "gpu_memory_mib": ("OCR_GPU_MEMORY_MIB", _optional_int(64, 2**30)),
    "min_confidence": ("OCR_MIN_CONFIDENCE", _unit_float),
    "max_batch": ("OCR_MAX_BATCH", _ints(1, 256)),
    "pdf_dpi": ("OCR_PDF_DPI", _ints(36, 600)),
    "max_pages": ("OCR_MAX_PAGES", _ints(1, 1000)),
    "jobs_dir": ("OCR_JOBS_DIR", _optional_dir),
    "jobs_ttl_s": ("OCR_JOBS_TTL_S", _ints(60, 30 * 86400)),
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from `environ` (default: os.environ); raise SettingsError on the first bad value."""
    env = os.environ if environ is None else environ
    values = {name: parse(var, env[var]) for name, (var, parse) in VARIABLES.items() if var in env}
    return Settings(**values)  # type: ignore[arg-type]


def as_environment(settings: Settings) -> dict[str, str]:
    """The OCR_* variables that give `settings` (None as ""), e.g. for `ocr-service --check-config`."""
    out = {}
    for name, (var, _) in VARIABLES.items():
        value = getattr(settings, name)
        out[var] = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return out


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return load_settings()


def settings_or_exit() -> Settings:
    """Settings for an entry point: a bad value prints its one sentence and exits with status 2."""
    try:
        return get_settings()
    except SettingsError as exc:
        import sys

        print(f"ocr-service: configuration error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
