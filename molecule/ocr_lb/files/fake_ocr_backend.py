#!/usr/bin/env python3
"""A fake OCR host for the ocr_lb scenario (tests only): GET /readyz and POST /v1/ocr, nothing else.

/readyz answers 200 while /run/fake-ocr/<port>.down does not exist, else 503: a verifier takes a
backend out of the pool by creating that file. POST /v1/ocr answers 200 with {"backend": <port>}, so
a client through the load balancer sees which backend read its request.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PORT = int(sys.argv[1])
DOWN = Path(f"/run/fake-ocr/{PORT}.down")


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
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/v1/ocr":
            self.answer(200, {"backend": PORT})
        else:
            self.answer(404, {"error": {"code": "not_found", "message": self.path}})

    def log_message(self, *args) -> None:
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
