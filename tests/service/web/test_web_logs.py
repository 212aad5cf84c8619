"""Log formatting: JSON lines an operator can ship, text lines a human can grep; both carry request ids."""

from __future__ import annotations

import json
import logging

from ocr_service.logs import ACCESS_LOG_FORMAT, JsonFormatter, TextFormatter, logging_config


def record(name: str, msg: str, args=None, **extra) -> logging.LogRecord:
    rec = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    rec.created, rec.msecs, rec.process = 1795820400.25, 250.0, 4242
    rec.__dict__.update(extra)
    return rec


def test_json_access_line_has_typed_fields_from_gunicorn_atoms():
    atoms = {"h": "127.0.0.1", "m": "POST", "U": "/v1/ocr", "q": "", "s": "415", "B": 186, "M": 3,
             "a": "curl/8", "{x-request-id}o": "abc-1", "r": "POST /v1/ocr HTTP/1.1"}  # fmt: skip
    line = json.loads(JsonFormatter().format(record("gunicorn.access", ACCESS_LOG_FORMAT, (atoms,))))
    assert line == {
        "ts": "2026-11-27T23:00:00.250Z",
        "level": "info",
        "logger": "gunicorn.access",
        "pid": 4242,
        "event": "access",
        "remote": "127.0.0.1",
        "method": "POST",
        "path": "/v1/ocr",
        "query": "",
        "status": 415,
        "bytes": 186,
        "duration_ms": 3,
        "user_agent": "curl/8",
        "request_id": "abc-1",
    }


def test_json_app_line_carries_message_and_request_id():
    line = json.loads(
        JsonFormatter().format(record("ocr_service.app", "read %d lines", (3,), request_id="r-9"))
    )
    assert (line["message"], line["request_id"], line["level"]) == ("read 3 lines", "r-9", "info")


def test_text_line_ends_with_the_request_id():
    text = TextFormatter().format(record("ocr_service.app", "boom", None, request_id="r-9"))
    assert text.endswith("[4242] [INFO] ocr_service.app: boom request_id=r-9")


def test_logging_config_routes_access_to_stdout_and_errors_to_stderr():
    config = logging_config("json")
    assert config["loggers"]["gunicorn.access"]["handlers"] == ["stdout"]
    assert config["loggers"]["gunicorn.error"]["handlers"] == ["stderr"]
    assert config["formatters"]["ocr"]["log_format"] == "json"
    assert config["loggers"]["ocr_service"]["handlers"] == ["stderr"]


def test_log_dir_copies_every_line_into_a_file_that_logrotate_can_move(tmp_path):
    import logging.config

    config = logging_config("json", tmp_path)
    for name in ("gunicorn.access", "gunicorn.error", "ocr_service"):
        assert config["loggers"][name]["handlers"][-1] == "file"
    logging.config.dictConfig(config)
    try:
        logging.getLogger("ocr_service.app").info("read %d lines", 7)
        logfile = tmp_path / "ocr-service.log"
        assert json.loads(logfile.read_text(encoding="utf-8").splitlines()[-1])["message"] == "read 7 lines"
        logfile.rename(tmp_path / "ocr-service.log.1")  # what logrotate does
        logging.getLogger("ocr_service.app").info("after rotation")
        assert "after rotation" in logfile.read_text(encoding="utf-8")
    finally:
        logging.config.dictConfig(logging_config("json"))


def test_the_log_file_is_capped_even_with_several_writers(tmp_path):
    # Issue 13: a log file in a volume cannot fill the disk. Two handlers stand for two gunicorn
    # workers appending to the same file; together they keep at most 2 x max_bytes.
    from ocr_service.logs import SizeCappedFileHandler

    path = tmp_path / "ocr-service.log"
    writers = [SizeCappedFileHandler(str(path), max_bytes=20_000, encoding="utf-8") for _ in range(2)]
    try:
        for i in range(2000):  # ~200 KB in all
            record = logging.LogRecord(
                "ocr_service", logging.INFO, __file__, 1, "line %05d " + "x" * 80, (i,), None
            )
            writers[i % 2].handle(record)
    finally:
        for writer in writers:
            writer.close()
    sizes = {
        p.name: p.stat().st_size for p in tmp_path.glob("ocr-service.log*") if not p.name.endswith(".lock")
    }
    assert set(sizes) == {"ocr-service.log", "ocr-service.log.1"}
    assert all(size < 20_000 + 200 for size in sizes.values()), sizes
    assert "line 01999" in path.read_text(encoding="utf-8")  # the newest lines are in the live file
