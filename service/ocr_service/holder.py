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
from .pipeline import Pipeline
from .runners import ModelRunner

log = logging.getLogger(__name__)


class PipelineHolder:
    def __init__(
        self,
        runner_factory: Callable[[], ModelRunner],
        retry_interval_s: float = 2.0,
    ) -> None:
        self._runner_factory = runner_factory
        self._retry_interval_s = retry_interval_s
        self._lock = threading.Lock()
        self._runner: ModelRunner | None = None
        self._pipeline: Pipeline | None = None
        self._warm = False
        self._pid: int | None = None
        self._reason = "the models have not been loaded yet"
        self._last_attempt = float("-inf")

    def load(self, force: bool = False) -> bool:
        """Build the runner and Pipeline and warm them up; True when ready to serve."""
        with self._lock:
            if self._pid is not None and self._pid != os.getpid():
                # Inherited across a fork (gunicorn --preload): the parent's models are unusable here.
                self._runner, self._pipeline, self._warm, self._pid = None, None, False, None
            if self._warm:
                return True
            now = time.monotonic()
            if not force and now - self._last_attempt < self._retry_interval_s:
                return False
            self._last_attempt = now
            started = time.perf_counter()
            try:
                if self._pipeline is None:
                    self._runner = self._runner_factory()
                    self._pipeline = Pipeline(self._runner)
                    self._pid = os.getpid()
                self._pipeline.warmup()
            except OcrError as exc:
                self._reason = exc.message
                log.warning("pipeline not ready: %s", exc.message)
                return False
            except Exception as exc:  # a missing model dir, a bad SavedModel: report, keep serving probes
                self._reason = f"{type(exc).__name__}: {exc}"
                log.exception("pipeline failed to load")
                return False
            self._warm = True
            self._reason = ""
            log.info("pipeline ready (loaded and warmed up in %.1f s)", time.perf_counter() - started)
            return True

    def get(self) -> Pipeline:
        """The warmed-up pipeline, or BackendUnavailable saying why there is none."""
        if not self._warm or self._pid != os.getpid():
            self.load()
        if not self._warm or self._pipeline is None:
            raise BackendUnavailable(f"the OCR backend is not ready: {self._reason}")
        return self._pipeline

    def readiness(self) -> tuple[bool, str]:
        """(ready, reason): loaded, warmed up, and the runner says both models are available."""
        if not self._warm:
            self.load()
        if not self._warm or self._runner is None:
            return False, self._reason
        try:
            if self._runner.ready():
                return True, "ready"
            return False, "the model backend reports that the models are not available"
        except OcrError as exc:
            return False, exc.message
        except Exception as exc:
            log.exception("readiness check failed")
            return False, f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        with self._lock:
            if self._runner is not None and self._pid == os.getpid():
                try:
                    self._runner.close()
                except Exception:
                    log.exception("closing the runner failed")
            self._runner, self._pipeline, self._warm = None, None, False
