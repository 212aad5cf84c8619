"""Log lines an operator can grep (text) or ship to a log store (one JSON object per line).

gunicorn's error and access loggers and the app's own logger share one formatter, installed by
`gunicorn.conf.py` through `logging_config()`. Every record made while a request is handled
carries that request's id, so one `grep <id>` finds the access line, the error and the traceback.
"""

from __future__ import annotations

import fcntl
import json
import logging
import logging.handlers
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Access log fields taken from gunicorn's atoms (see gunicorn.glogging.Logger.atoms).
_ACCESS_ATOMS = {
    "remote": "h",
    "method": "m",
    "path": "U",
    "query": "q",
    "status": "s",
    "bytes": "B",
    "duration_ms": "M",
    "user_agent": "a",
    "request_id": "{x-request-id}o",
}
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s "%(a)s"'


def _current_request_id() -> str | None:
    try:
        from flask import g, has_request_context
    except ImportError:  # pragma: no cover - flask is a dependency
        return None
    if has_request_context():
        return g.get("request_id")
    return None


class RequestIdFilter(logging.Filter):
    """Stamp records made inside a Flask request with its id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record; gunicorn access records become structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            entry["event"] = "access"
            for field, atom in _ACCESS_ATOMS.items():
                value = record.args.get(atom)
                if value not in (None, "-"):
                    entry[field] = value
            for field in ("status", "bytes", "duration_ms"):
                if isinstance(entry.get(field), str) and entry[field].isdigit():
                    entry[field] = int(entry[field])
        else:
            entry["message"] = record.getMessage()
            request_id = getattr(record, "request_id", None)
            if request_id:
                entry["request_id"] = request_id
            for key in ("route", "status", "error_code", "duration_ms"):
                if hasattr(record, key):
                    entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s%(rid)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.rid = f" request_id={request_id}" if request_id else ""
        return super().format(record)


def make_formatter(log_format: str = "json") -> logging.Formatter:
    """Factory for logging.config (`"()": "ocr_service.logs.make_formatter"`)."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


LOG_FILE_NAME = "ocr-service.log"


class SizeCappedFileHandler(logging.handlers.WatchedFileHandler):
    """The log file, moved to `<file>.1` when it reaches `max_bytes` (0: never; logrotate's job).

    Every gunicorn process appends to the same file, so the size is read from the path and the move
    is made under a lock file: one process moves it, the others see a new inode and reopen (as
    after logrotate). At most 2 x max_bytes on disk: a file in a volume cannot fill it (issue 13).
    """

    def __init__(self, filename: str, max_bytes: int = 0, encoding: str | None = None) -> None:
        super().__init__(filename, encoding=encoding)
        self.max_bytes = max_bytes

    def emit(self, record: logging.LogRecord) -> None:
        if self.max_bytes > 0:
            self._move_if_full()
        super().emit(record)

    def _size(self) -> int:
        try:
            return os.stat(self.baseFilename).st_size
        except FileNotFoundError:
            return 0

    def _move_if_full(self) -> None:
        if self._size() < self.max_bytes:
            return
        with open(self.baseFilename + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self._size() >= self.max_bytes:  # not already moved by another process
                os.replace(self.baseFilename, self.baseFilename + ".1")


def logging_config(log_format: str, log_dir: Path | None = None, max_bytes: int = 0) -> dict[str, Any]:
    """dictConfig for gunicorn (its `logconfig_dict`): errors to stderr, access lines to stdout.

    With `log_dir` (OCR_LOG_DIR) every line also goes to `<log_dir>/ocr-service.log`, moved aside at
    `max_bytes` (OCR_LOG_FILE_MAX_BYTES) and reopened when logrotate moves it, for hosts that
    collect files rather than container output.
    """
    formatter = {"()": "ocr_service.logs.make_formatter", "log_format": log_format}
    request_id = {"()": "ocr_service.logs.RequestIdFilter"}

    def handler(stream: str) -> dict[str, Any]:
        return {
            "class": "logging.StreamHandler",
            "formatter": "ocr",
            "filters": ["request_id"],
            "stream": f"ext://sys.{stream}",
        }

    handlers: dict[str, Any] = {"stderr": handler("stderr"), "stdout": handler("stdout")}
    extra: list[str] = []
    if log_dir is not None:
        handlers["file"] = {
            "()": "ocr_service.logs.SizeCappedFileHandler",
            "formatter": "ocr",
            "filters": ["request_id"],
            "filename": str(Path(log_dir) / LOG_FILE_NAME),
            "max_bytes": max_bytes,
            "encoding": "utf-8",
        }
        extra = ["file"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ocr": formatter},
        "filters": {"request_id": request_id},
        "handlers": handlers,
        "root": {"level": "WARNING", "handlers": ["stderr", *extra]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr", *extra], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["stdout", *extra], "propagate": False},
            "ocr_service": {"level": "INFO", "handlers": ["stderr", *extra], "propagate": False},
        },
    }
