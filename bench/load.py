"""Load benchmark: N concurrent clients posting one image to a running OCR service.

Prints, per concurrency level, completed requests, errors, images/s and p50/p95/p99 latency.
Run it once per mode against the same image and compare (`single`, then `tfserving`):

    python bench/load.py --url http://127.0.0.1:8080/v1/ocr --image page.png --concurrency 1 4 16 \
        --requests 200 --label single

`tfserving` mode without TF Serving (development machines): serve the same models with the
stand-in and point the service at it, then run the same command with `--label tfserving`:

    python docker/tfserving-standin/server.py --model-config-file models.config --port 8500 &
    OCR_MODE=tfserving OCR_TFSERVING_GRPC=127.0.0.1:8500 ocr-service &

Figures from the stand-in measure the client path and the protocol overhead, not TF Serving's
batching; capacity figures come from the GPU host with the real image.

Batches (issue 14): `--batch N` posts N copies of the image in each request (repeated multipart
`image` fields) and measures it against the same images sent one per request, at each concurrency:

    python bench/load.py --image page.png --concurrency 1 --requests 12 --batch 8 --label single

Documents (issue 14): `--document N` posts an N-page PDF made of the image (one page per copy, at
150 dpi) in each request and prints pages/s (the `img/s` column counts pages):

    python bench/load.py --image page.png --concurrency 1 --requests 5 --document 6 --label single

Only loopback URLs are accepted unless --allow-remote: a load test aimed at the wrong host is a
denial of service, not a benchmark.
"""

from __future__ import annotations

import argparse
import http.client
import io
import ipaddress
import json
import math
import mimetypes
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_URL = "http://127.0.0.1:8080/v1/ocr"


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list; NaN when empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class LevelResult:
    label: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    images_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


def summarize(
    label: str,
    concurrency: int,
    latencies_s: list[float],
    errors: int,
    seconds: float,
    images_per_request: int = 1,
) -> LevelResult:
    """Throughput counts successful images only; latency percentiles are of successful requests."""
    ordered = sorted(latencies_s)
    images = len(ordered) * images_per_request
    return LevelResult(
        label=label,
        concurrency=concurrency,
        requests=len(ordered) + errors,
        errors=errors,
        seconds=round(seconds, 3),
        images_per_s=round(images / seconds, 2) if seconds > 0 else 0.0,
        p50_ms=round(percentile(ordered, 50) * 1000, 1),
        p95_ms=round(percentile(ordered, 95) * 1000, 1),
        p99_ms=round(percentile(ordered, 99) * 1000, 1),
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def sample_png() -> bytes:
    """A white page with a few printed lines, for when no --image is given."""
    from PIL import Image, ImageDraw, ImageFont

    page = Image.new("RGB", (800, 600), "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=28)
    for i, line in enumerate(
        ["INVOICE 2026-0042", "Total amount: 1,234.56", "Paid by transfer", "Thank you"]
    ):
        draw.text((60, 60 + 70 * i), line, fill="black", font=font)
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_of(image: bytes, pages: int, dpi: float = 150.0) -> bytes:
    """An N-page PDF of `image` (Pillow's PDF writer: image pages, no text layer), `dpi` per page."""
    from PIL import Image

    page = Image.open(io.BytesIO(image)).convert("RGB")
    buffer = io.BytesIO()
    page.save(buffer, format="PDF", save_all=True, append_images=[page] * (pages - 1), resolution=dpi)
    return buffer.getvalue()


def multipart(image: bytes, content_type: str, copies: int) -> tuple[bytes, str]:
    """A multipart/form-data body with `copies` repeated `image` file fields (one batch request)."""
    boundary = "ocrstack-load-batch-boundary"
    part = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="page"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + image
        + b"\r\n"
    )
    return part * copies + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Client:
    """One keep-alive HTTP connection, reopened after any error, like a real client's pool slot."""

    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout_s = timeout_s
        self.conn: http.client.HTTPConnection | None = None

    def post(self, body: bytes, content_type: str) -> int:
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self.conn = cls(self.host, self.port, timeout=self.timeout_s)
        try:
            self.conn.request("POST", self.path, body=body, headers={"Content-Type": content_type})
            response = self.conn.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run_level(
    url: str,
    body: bytes,
    content_type: str,
    concurrency: int,
    requests: int,
    duration_s: float,
    timeout_s: float,
    progress: bool = False,
) -> tuple[list[float], int, float]:
    """`concurrency` threads share a budget of `requests` (or run for `duration_s`)."""
    from tqdm import tqdm

    bar = tqdm(
        total=requests or None,
        desc=f"concurrency {concurrency}",
        unit="img",
        leave=False,
        file=sys.stderr,
        disable=not progress,
    )
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.monotonic() + duration_s if duration_s > 0 else math.inf

    def worker() -> None:
        nonlocal errors, issued
        client = Client(url, timeout_s)
        while True:
            with lock:
                if (requests > 0 and issued >= requests) or time.monotonic() >= deadline:
                    break
                issued += 1
            started = time.perf_counter()
            try:
                ok = 200 <= client.post(body, content_type) < 300
            except (OSError, http.client.HTTPException):
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors += 1
                bar.update(1)
        client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    bar.close()
    return latencies, errors, seconds


def measure(
    args: argparse.Namespace,
    body: bytes,
    content_type: str,
    concurrency: int,
    requests: int,
    images_per_request: int,
) -> LevelResult:
    """Warm up, run one level, print its row (or JSON object), return it."""
    if args.warmup:
        run_level(args.url, body, content_type, 1, args.warmup, 0.0, args.timeout)
    latencies, errors, seconds = run_level(
        args.url,
        body,
        content_type,
        concurrency,
        requests,
        args.duration,
        args.timeout,
        progress=sys.stderr.isatty(),
    )
    label = args.label + (f" x{images_per_request}" if images_per_request > 1 else "")
    r = summarize(label, concurrency, latencies, errors, seconds, images_per_request)
    if args.json:
        print(json.dumps(asdict(r)), flush=True)
    else:
        print(
            f"{r.label:<10} {r.concurrency:>4} {r.requests:>6} {r.errors:>6} {r.images_per_s:>8.2f} "
            f"{r.p50_ms:>8.1f} {r.p95_ms:>8.1f} {r.p99_ms:>8.1f}",
            flush=True,
        )
    return r


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"OCR endpoint (default {DEFAULT_URL})")
    parser.add_argument("--image", type=Path, help="image to post (default: a generated 800x600 page)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16], help="client counts")
    parser.add_argument("--requests", type=int, default=100, help="requests per level (0: use --duration)")
    parser.add_argument("--duration", type=float, default=0.0, help="seconds per level, if --requests is 0")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests before each level")
    parser.add_argument("--timeout", type=float, default=60.0, help="per-request client timeout, seconds")
    parser.add_argument("--label", default="", help="mode name printed with the results, e.g. single")
    parser.add_argument("--json", action="store_true", help="one JSON object per level instead of a table")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback URL")
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="also post N images per request (a batch) and compare with N single-image requests",
    )
    parser.add_argument(
        "--document",
        type=int,
        default=0,
        help="post an N-page PDF of the image instead (pages/s; compare before/after a change)",
    )
    args = parser.parse_args(argv)

    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        parser.error(f"--url {args.url!r} is not an http(s) URL")
    if not is_loopback(parts.hostname) and not args.allow_remote:
        parser.error(
            f"refusing to load {parts.hostname}: not a loopback host (pass --allow-remote if intended)"
        )
    if args.requests <= 0 and args.duration <= 0:
        parser.error("give --requests > 0 or --duration > 0")
    if any(c < 1 for c in args.concurrency):
        parser.error("--concurrency values must be >= 1")
    if args.batch < 1:
        parser.error("--batch must be >= 1")
    if args.document < 0 or (args.document and args.batch > 1):
        parser.error("--document takes a page count >= 1 and does not combine with --batch")

    body = args.image.read_bytes() if args.image else sample_png()
    content_type = (mimetypes.guess_type(args.image.name)[0] if args.image else None) or "image/png"

    if not args.json:
        header = ("mode", "conc", "reqs", "errors", "img/s", "p50 ms", "p95 ms", "p99 ms")
        print("{:<10} {:>4} {:>6} {:>6} {:>8} {:>8} {:>8} {:>8}".format(*header))
    if args.document:
        pdf = pdf_of(body, args.document)
        for concurrency in args.concurrency:
            r = measure(args, pdf, "application/pdf", concurrency, args.requests, args.document)
            if not args.json:
                print(f"{args.document}-page PDF: {r.images_per_s:.2f} pages/s", flush=True)
        return 0
    for concurrency in args.concurrency:
        single = measure(args, body, content_type, concurrency, args.requests * args.batch, 1)
        if args.batch > 1:
            batch_body, batch_type = multipart(body, content_type, args.batch)
            batch = measure(args, batch_body, batch_type, concurrency, args.requests, args.batch)
            if not args.json and single.images_per_s > 0:
                print(
                    f"batch of {args.batch} in one request: {batch.images_per_s:.2f} img/s vs "
                    f"{single.images_per_s:.2f} img/s as {args.batch} requests "
                    f"(x{batch.images_per_s / single.images_per_s:.2f})",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
