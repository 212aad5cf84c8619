"""Exactly one runner + Pipeline per worker process, built after the fork and warmed before traffic.

TensorFlow does not survive a fork, so nothing model-related may exist in the gunicorn master:
the holder builds lazily, in the worker (gunicorn's `post_worker_init` calls `load()` before the
worker accepts its first connection). A backend that is not there yet (TF Serving still starting,
models missing) does not kill the worker: `/readyz` says why, requests get a 503, and the holder
retries at most once per `retry_interval_s` until it succeeds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from .errors import BackendUnavailable, OcrError
from .perprocess import PerProcess
from .pipeline import Pipeline, PipelineConfig
from .runners import ModelRunner

log = logging.getLogger(__name__)


class PipelineHolder:
    def __init__(
        self,
        runner_factory: Callable[[], ModelRunner],
        retry_interval_s: float = 2.0,
        config: PipelineConfig | None = None,
    ) -> None:
        self._runner_factory = runner_factory
        self._config = config
        self._retry_interval_s = retry_interval_s
        self._lock = threading.Lock()
        self._built: PerProcess[tuple[ModelRunner, Pipeline]] = PerProcess(self._build, _close_runner)
        self._warm_pid: int | None = None  # the process whose pipeline is warmed up
        self._reason = "the models have not been loaded yet"
        self._unready_logged = ""  # the last readiness failure logged: /readyz is polled every second
        self._last_attempt = float("-inf")

    def _build(self) -> tuple[ModelRunner, Pipeline]:
        runner = self._runner_factory()
        return runner, Pipeline(runner, self._config)

    @property
    def _warm(self) -> bool:
        # Inherited across a fork (gunicorn --preload): the parent's models are unusable here.
        return self._warm_pid == os.getpid()

    def load(self, force: bool = False) -> bool:
        """Build the runner and Pipeline and warm them up; True when ready to serve."""
        with self._lock:
            if self._warm:
                return True
            now = time.monotonic()
            if not force and now - self._last_attempt < self._retry_interval_s:
                return False
            self._last_attempt = now
            started = time.perf_counter()
            try:
                _, pipeline = self._built.get()
                pipeline.warmup()
            except OcrError as exc:
                self._reason = exc.message  # what /readyz shows: no addresses or paths (the log has them)
                log.warning("pipeline not ready: %s", exc)
                return False
            except Exception as exc:  # a missing model dir, a bad SavedModel: report, keep serving probes
                self._reason = f"the pipeline failed to load ({type(exc).__name__}; the service log says why)"
                log.exception("pipeline failed to load")
                return False
            self._warm_pid = os.getpid()
            self._reason = ""
            log.info(
                "pipeline ready on %s (loaded and warmed up in %.1f s)",
                self.device or "the model backend",
                time.perf_counter() - started,
            )
            return True

    def get(self) -> Pipeline:
        """The warmed-up pipeline, or BackendUnavailable saying why there is none."""
        if not self._warm:
            self.load()
        built = self._built.peek()
        if not self._warm or built is None:
            raise BackendUnavailable(f"the OCR backend is not ready: {self._reason}")
        return built[1]

    @property
    def device(self) -> str | None:
        """Where the models run in this process ("GPU:0 (...)", "CPU"); None for a remote backend."""
        built = self._built.peek()
        return getattr(built[0], "device", None) if built is not None else None

    @property
    def backend(self) -> str:
        """What runs the models for this process (a model directory or a TF Serving address)."""
        built = self._built.peek()
        return getattr(built[0], "backend", "not built yet") if built is not None else "not built yet"

    def readiness(self) -> tuple[bool, str]:
        """(ready, reason): loaded, warmed up, and the runner says both models are available."""
        if not self._warm:
            self.load()
        built = self._built.peek()
        if not self._warm or built is None:
            return False, self._reason
        try:
            if built[0].ready():
                self._unready_logged = ""  # a later outage is logged again
                return True, "ready"
            return False, "the model backend reports that the models are not available"
        except OcrError as exc:
            if str(exc) != self._unready_logged:  # once per cause, with its detail, not once per probe
                self._unready_logged = str(exc)
                log.warning("not ready: %s", exc)
            return False, exc.message
        except Exception as exc:
            log.exception("readiness check failed")
            return False, f"the readiness check failed ({type(exc).__name__}; the service log says why)"

    def close(self) -> None:
        with self._lock:
            self._built.close()
            self._warm_pid = None


def _close_runner(built: tuple[ModelRunner, Pipeline]) -> None:
    try:
        built[0].close()
    except Exception:
        log.exception("closing the runner failed")
