"""Async jobs for big files: `POST /v1/jobs` answers at once with a job id, `GET /v1/jobs/<id>`
reports progress and, when done, the result `/v1/ocr` would have given.

Jobs live on disk, in `OCR_JOBS_DIR` (a volume in containers), one folder per job:
`input` (the upload), `job.json` (status, options, progress; replaced atomically), `result.json`.
Why a folder and no queue server: the service has no other stateful dependency, the jobs are
few and large (PDFs), and a directory on a volume survives a worker or container restart with
nothing more to deploy or monitor.

Every worker process runs one thread that takes queued jobs. A job is taken under an exclusive
`flock` on its `lock` file, held while the job runs: a second worker cannot take it, and when the
worker that holds it dies (killed, restarted, OOM) the kernel drops the lock, so the job is taken
again by the next worker that looks (a job is read from the start again; reading has no side
effects). Jobs, finished or not, are deleted `OCR_JOBS_TTL_S` after they were created; a GET of an
expired or unknown id is a 404. Off (404 on `/v1/jobs`) while `OCR_JOBS_DIR` is not set.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, g, jsonify
from werkzeug.exceptions import NotFound

from .errors import OcrError
from .options import OcrOptions
from .settings import Settings
from .state import state

log = logging.getLogger(__name__)
jobs = Blueprint("jobs", __name__)
_ID = re.compile(r"[0-9a-f]{32}")
POLL_S = 0.5


class JobStore:
    def __init__(self, root: Path, ttl_s: int) -> None:
        self.root, self.ttl_s = Path(root), ttl_s

    def create(self, data: bytes, options: OcrOptions) -> dict[str, Any]:
        job_id = uuid.uuid4().hex
        staging = self.root / f".{job_id}.tmp"
        staging.mkdir(parents=True)
        (staging / "input").write_bytes(data)
        now = time.time()
        record = {
            "job_id": job_id,
            "status": "queued",
            "created": now,
            "expires": now + self.ttl_s,
            "options": vars(options),
            "progress": {"done": 0, "total": None},
        }
        _write_json(staging / "job.json", record)
        staging.rename(self.root / job_id)  # a job appears whole, or not at all
        return record

    def get(self, job_id: str) -> dict[str, Any] | None:
        folder = self.root / job_id
        if not _ID.fullmatch(job_id) or not folder.is_dir():
            return None
        try:
            record = json.loads((folder / "job.json").read_text())
        except (OSError, ValueError):
            return None
        if record["expires"] < time.time():
            return None
        if record["status"] == "done":
            record["result"] = json.loads((folder / "result.json").read_text())
        return record

    def expire(self) -> None:
        now = time.time()
        for folder in self.root.iterdir() if self.root.is_dir() else ():
            record = _read_json(folder / "job.json")
            stale_staging = folder.name.startswith(".") and folder.stat().st_mtime < now - 3600
            if (record is not None and record["expires"] < now) or stale_staging:
                shutil.rmtree(folder, ignore_errors=True)

    def take_and_run(self, run) -> bool:
        """Run the oldest job nobody holds that is not finished; False when there is none."""
        candidates = []
        for folder in self.root.iterdir() if self.root.is_dir() else ():
            record = _read_json(folder / "job.json")
            if _ID.fullmatch(folder.name) and record and record["status"] in ("queued", "running"):
                candidates.append((record["created"], folder))
        for _, folder in sorted(candidates):
            with open(folder / "lock", "a+") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # another worker runs it
                record = _read_json(folder / "job.json")
                if record is None or record["status"] not in ("queued", "running"):
                    continue
                self._run(folder, record, run)
                return True
        return False

    def _run(self, folder: Path, record: dict[str, Any], run) -> None:
        record.update(status="running", started=time.time(), pid=os.getpid())
        _write_json(folder / "job.json", record)

        def progress(done: int, total: int) -> None:
            record["progress"] = {"done": done, "total": total}
            _write_json(folder / "job.json", record)

        try:
            result = run((folder / "input").read_bytes(), OcrOptions(**record["options"]), progress)
        except OcrError as exc:
            record.update(status="failed", error={"code": exc.code, "message": exc.message})
        except Exception as exc:  # the job fails, the worker thread goes on
            log.exception("job %s failed", folder.name)
            record.update(status="failed", error={"code": "internal_error", "message": type(exc).__name__})
        else:
            _write_json(folder / "result.json", result)
            record.update(status="done")
        record["finished"] = time.time()
        _write_json(folder / "job.json", record)


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(value, ensure_ascii=False))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def start_runner(settings: Settings, holder, stop: threading.Event | None = None) -> threading.Thread:
    """The worker process's job thread: expire old jobs, take one, read it, repeat."""
    from .v1 import Upload, read_items

    store = JobStore(settings.jobs_dir, settings.jobs_ttl_s)  # type: ignore[arg-type]
    stop = stop or threading.Event()

    def run(data: bytes, options: OcrOptions, progress) -> dict[str, Any]:
        pipeline = holder.get()
        (answer,), timings = read_items(
            pipeline,
            [Upload(None, data)],
            options,
            fail_fast=True,
            settings=settings,
            progress=progress,
            per_page_deadline=True,
        )
        return {**answer, "timings_ms": timings}

    def loop() -> None:
        while not stop.is_set():
            try:
                store.expire()
                if not store.take_and_run(run):
                    stop.wait(POLL_S)
            except Exception:
                log.exception("the job runner failed; retrying")
                stop.wait(5 * POLL_S)

    thread = threading.Thread(target=loop, name="ocr-jobs", daemon=True)
    thread.start()
    return thread


def _store() -> JobStore:
    settings = state().settings
    if settings.jobs_dir is None:
        raise NotFound("async jobs are off on this service (OCR_JOBS_DIR is not set)")
    return JobStore(settings.jobs_dir, settings.jobs_ttl_s)


@jobs.post("/v1/jobs")
def create_job() -> tuple[Response, int]:
    """The same upload and options as a one-image or one-document `/v1/ocr`; 202 with the job."""
    from .api import image_from_request
    from .v1 import single_options

    store = _store()
    data = image_from_request("image")
    record = store.create(data, single_options())
    body = {"request_id": g.request_id, **_public(record), "status_url": f"/v1/jobs/{record['job_id']}"}
    response = jsonify(body)
    response.headers["Location"] = body["status_url"]
    return response, 202


@jobs.get("/v1/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    """Status and progress (images and pages read / all); `result` once `status` is `done`,
    `error` when `failed`. 404 for an unknown or expired job."""
    record = _store().get(job_id)
    if record is None:
        raise NotFound(f"no job {job_id[:40]!r}: it never existed or it expired")
    return jsonify({"request_id": g.request_id, **_public(record)})


def _public(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("job_id", "status", "created", "expires", "progress", "error", "result")
    return {key: record[key] for key in keys if key in record}
