"""gunicorn configuration of the OCR service; every value comes from `ocr_service.settings`.

Run it as `ocr-service` (or `gunicorn -c <this file>`). Deliberately NO preload: TensorFlow hangs
across fork, so the master never touches a model. Each worker loads its own runner + Pipeline
after the fork and warms it up in `post_worker_init`, before it accepts its first connection:
one model copy per worker, and no client pays the first-call graph tracing.
"""

import logging
import os
import shutil
import tempfile
from pathlib import Path

import gunicorn.http.wsgi

from ocr_service import state
from ocr_service.logs import ACCESS_LOG_FORMAT, logging_config
from ocr_service.settings import settings_or_exit

_settings = settings_or_exit()  # a bad OCR_* value: one sentence on stderr, exit status 2
_log = logging.getLogger("ocr_service.gunicorn")

wsgi_app = "ocr_service.wsgi:app"
_host = f"[{_settings.host}]" if ":" in _settings.host else _settings.host
bind = [f"{_host}:{_settings.port}"]
workers = _settings.workers
threads = _settings.threads
worker_class = "gthread"
preload_app = False
# Loading TensorFlow and both models plus the warm-up happens before a worker's first heartbeat;
# on a busy 2-core host that can take tens of seconds. Requests themselves run in threads and do
# not block the heartbeat, so this does not bound request time: OCR_TIMEOUT_S is every request's
# deadline (ocr_service.deadline), below graceful_timeout and the load balancer's timeout server.
timeout = 120
graceful_timeout = 30
keepalive = 5
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"  # heartbeat files off the (possibly slow, overlay) disk in containers

# gunicorn's runtime control socket defaults to one fixed path per user (~/.gunicorn/gunicorn.ctl):
# two instances on a host would fight over it, and a read-only container home cannot hold it.
control_socket_disable = True

# No software banner: gunicorn answers `Server: gunicorn` on every response (gunicorn/http/wsgi.py,
# Response.default_headers, from the module's SERVER), which tells a scanner what to try. The
# response keeps a neutral name instead (the load balancer removes the header as well).
gunicorn.http.wsgi.SERVER = "ocr-service"

accesslog = "-"
access_log_format = ACCESS_LOG_FORMAT
logconfig_dict = logging_config(_settings.log_format, _settings.log_dir, _settings.log_file_max_bytes)


# Prometheus multiprocess mode: every worker writes its samples under one directory, which must
# exist and be empty before the first worker imports prometheus_client. Set it up here, in the
# master, at configuration time (workers inherit the environment when they are forked).
def _prepare_multiproc_dir() -> tuple[Path, bool]:
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return directory, False
    directory = Path(tempfile.mkdtemp(prefix="ocr-service-prometheus-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    return directory, True


_multiproc_dir, _multiproc_dir_is_ours = _prepare_multiproc_dir()


def on_starting(server):
    s = _settings
    _log.info(
        "ocr-service starting: mode=%s workers=%d threads=%d bind=%s max_upload_bytes=%d "
        "max_pixels=%d timeout_s=%s",
        s.mode,
        s.workers,
        s.threads,
        bind[0],
        s.max_upload_bytes,
        s.max_pixels,
        s.timeout_s,
    )


def post_worker_init(worker):
    """Load and warm this worker's pipeline before it serves; a failure is reported by /readyz."""
    svc = state.of(worker.wsgi)
    if svc is not None:
        svc.holder.load(force=True)
        _log.info("worker %d: mode=%s backend=%s", worker.pid, svc.settings.mode, svc.holder.backend)


def worker_exit(server, worker):
    svc = state.of(getattr(worker, "wsgi", None))
    if svc is not None:
        svc.holder.close()


def child_exit(server, worker):
    # Drop the dead worker's live gauges (in-flight) from the sums; its counters stay counted.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _multiproc_dir_is_ours:
        shutil.rmtree(_multiproc_dir, ignore_errors=True)
