#!/usr/bin/env python3
"""A client of the site scenario (tests only): POSTs a page to an OCR URL, bounded in count and time.

    ocr_load.py URL IMAGE [--threads 2] [--seconds 60] [--max-requests 1000] [--out FILE] [--pidfile F]
                [--api-key-file F] [--cacert F]

Each request is one JSON line (on stdout, or appended to --out as it completes, so a verifier can
read the results while the load runs): start and end time, HTTP status, the backend that answered
(X-Served-By, set by the load balancer), the number of lines read and whether the sample's
invoice-number line came back; an error string when the connection failed. With --api-key-file,
every request carries that key (X-API-Key); with --cacert, https URLs are verified against it.
"""

import argparse
import json
import os
import ssl
import threading
import time
import urllib.error
import urllib.request


def one(url: str, body: bytes, headers: dict, context: ssl.SSLContext | None) -> dict:
    start = time.time()
    headers = {"Content-Type": "image/png", **headers}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    result = {"start": start}
    try:
        # longer than the load balancer may take: its server timeout (30 s) on one host, then a retry
        with urllib.request.urlopen(request, timeout=120, context=context) as response:
            data = json.loads(response.read())
            result.update(status=response.status, served_by=response.headers.get("X-Served-By"))
            texts = [line["text"] for line in data.get("lines", [])]
            result.update(lines=len(texts), found=any("发票号码" in t for t in texts))
            result["models"] = data.get("models")  # the model versions that read it
    except urllib.error.HTTPError as exc:
        error = exc.read(300).decode("utf-8", "replace")
        result.update(status=exc.code, served_by=exc.headers.get("X-Served-By"), error=error)
    except OSError as exc:
        result.update(status=0, error=str(exc))
    result["end"] = time.time()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("image")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=1)
    parser.add_argument("--out")
    parser.add_argument("--pidfile", help="write this process's id there (to stop it early)")
    parser.add_argument("--api-key-file", help="send the key in this file as X-API-Key")
    parser.add_argument("--cacert", help="trust this certificate for https URLs")
    args = parser.parse_args()
    headers = {}
    if args.api_key_file:
        with open(args.api_key_file) as f:
            headers["X-API-Key"] = f.read().strip()
    context = ssl.create_default_context(cafile=args.cacert) if args.cacert else None
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write(str(os.getpid()))
    with open(args.image, "rb") as f:
        body = f.read()
    deadline = time.time() + args.seconds
    lock = threading.Lock()
    sent = [0]
    out = open(args.out, "a", buffering=1) if args.out else None  # noqa: SIM115 (shared by the threads)

    def worker() -> None:
        while time.time() < deadline:
            with lock:
                if sent[0] >= args.max_requests:
                    return
                sent[0] += 1
            answer = one(args.url, body, headers, context)
            line = json.dumps({**answer, "image": os.path.basename(args.image)})
            with lock:
                print(line, file=out, flush=True) if out else print(line, flush=True)

    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
