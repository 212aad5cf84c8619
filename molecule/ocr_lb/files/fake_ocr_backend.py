#!/usr/bin/env python3
"""A fake OCR host for the ocr_lb scenario (tests only): GET /readyz, /metrics and POST /v1/ocr.

/readyz answers 200 while /run/fake-ocr/<port>.down does not exist, else 503: a verifier takes a
backend out of the pool by creating that file. /metrics answers 200 (what must not leak through the
load balancer). POST /v1/ocr answers 200 with {"backend": <port>, "headers": {...}} (the request
headers as the host received them), so a client through the load balancer sees which backend read
its request and what the load balancer forwarded.

Every POST /v1/ocr that reaches the host appends a line to /run/fake-ocr/<port>.hits (before any of
the modes below act), and the most requests it ever held at once is in /run/fake-ocr/<port>.peak:
a verifier counts how many times a request was sent, and checks maxconn.

Modes, each while its file exists:
- <port>.drop: read the first 4 KiB of the body and close the connection without an answer, as
  gunicorn does with a connection it had accepted when it stops; each one appends a line to
  <port>.dropped.
- <port>.busy: answer 503 {"error": {"code": "busy"}} (a host shedding load).
A request header X-Fake-Sleep: <seconds> makes the answer wait that long (a slow page), and
X-Fake-Hold: <name> makes it wait while /run/fake-ocr/hold-<name> exists (50 s at most).
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PORT = int(sys.argv[1])
RUN = Path("/run/fake-ocr")
DOWN, DROP, DROPPED = RUN / f"{PORT}.down", RUN / f"{PORT}.drop", RUN / f"{PORT}.dropped"
BUSY, HITS, PEAK = RUN / f"{PORT}.busy", RUN / f"{PORT}.hits", RUN / f"{PORT}.peak"
LOCK = threading.Lock()
IN_FLIGHT = [0]


class Handler(BaseHTTPRequestHandler):
    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/readyz":
            self.answer(503 if DOWN.exists() else 200, {"backend": PORT, "address": "10.1.2.3"})
        elif self.path == "/metrics":
            self.answer(200, {"backend": PORT, "metrics": "internal"})
        else:
            self.answer(404, {"error": {"code": "not_found", "message": self.path}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        if self.path != "/v1/ocr":
            self.rfile.read(length)
            self.answer(404, {"error": {"code": "not_found", "message": self.path}})
            return
        RUN.mkdir(exist_ok=True)
        with LOCK:
            with HITS.open("a") as f:
                f.write(f"{time.time()}\n")
            IN_FLIGHT[0] += 1
            peak = int(PEAK.read_text()) if PEAK.exists() else 0
            if IN_FLIGHT[0] > peak:
                PEAK.write_text(str(IN_FLIGHT[0]))
        try:
            self.handle_ocr(length)
        finally:
            with LOCK:
                IN_FLIGHT[0] -= 1

    def handle_ocr(self, length: int) -> None:
        if DROP.exists():
            self.rfile.read(min(length, 4096))
            with DROPPED.open("a") as f:
                f.write(f"{self.path}\n")
            self.close_connection = True
            self.connection.close()
            return
        self.rfile.read(length)
        time.sleep(float(self.headers.get("X-Fake-Sleep", 0)))
        hold = RUN / f"hold-{self.headers.get('X-Fake-Hold', '')}"
        deadline = time.monotonic() + 50
        while "X-Fake-Hold" in self.headers and hold.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if BUSY.exists():
            self.answer(503, {"error": {"code": "busy", "message": "all workers busy"}, "backend": PORT})
            return
        self.answer(200, {"backend": PORT, "headers": {k.lower(): v for k, v in self.headers.items()}})

    def log_message(self, *args) -> None:
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
