#!/usr/bin/env python3
"""A fake OCR host for the ocr_lb scenario (tests only): GET /readyz and POST /v1/ocr, nothing else.

/readyz answers 200 while /run/fake-ocr/<port>.down does not exist, else 503: a verifier takes a
backend out of the pool by creating that file. POST /v1/ocr answers 200 with {"backend": <port>}, so
a client through the load balancer sees which backend read its request.

While /run/fake-ocr/<port>.drop exists, POST /v1/ocr reads the first 4 KiB of the body and closes
the connection without an answer, as gunicorn does with a connection it had accepted when it
stops; each dropped request appends a line to /run/fake-ocr/<port>.dropped.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PORT = int(sys.argv[1])
DOWN = Path(f"/run/fake-ocr/{PORT}.down")
DROP = Path(f"/run/fake-ocr/{PORT}.drop")
DROPPED = Path(f"/run/fake-ocr/{PORT}.dropped")


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
            self.answer(503 if DOWN.exists() else 200, {"backend": PORT})
        else:
            self.answer(404, {"error": {"code": "not_found", "message": self.path}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        if DROP.exists():
            self.rfile.read(min(length, 4096))
            with DROPPED.open("a") as f:
                f.write(f"{self.path}\n")
            self.close_connection = True
            self.connection.close()
            return
        self.rfile.read(length)
        if self.path == "/v1/ocr":
            self.answer(200, {"backend": PORT})
        else:
            self.answer(404, {"error": {"code": "not_found", "message": self.path}})

    def log_message(self, *args) -> None:
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
