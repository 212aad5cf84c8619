"""`ocr-client`: send image files or PDFs (or every one in a folder) to the service, print text or JSON.

    ocr-client scan.png                       # the text, one line per detected line
    ocr-client contract.pdf                   # the text page by page ("--- page 2 ---")
    ocr-client sideways.png                   # service with OCR_ORIENT on: stderr says "read turned 90 ..."
    ocr-client --format json photos/          # one JSON object per image (JSON Lines), progress bar
    ocr-client --url http://10.0.0.5:8080 a.jpg b.jpg

Exit status: 0 when every image was read, 1 when the service refused at least one (the reason is
printed to stderr), 2 when the service could not be reached or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import requests
from tqdm import tqdm

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".pdf"}
DEFAULT_URL = os.environ.get("OCR_URL", "http://127.0.0.1:8080")


class ServiceError(Exception):
    """The service answered with an error status; the message is the one it gave."""


def iter_images(paths: list[Path]) -> Iterator[Path]:
    """Files as given; folders expanded to their images (recursively, sorted)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
        else:
            yield path


def read_file(session: requests.Session, url: str, path: Path, timeout: float) -> dict:
    """POST one file to /v1/ocr; the parsed result, or ServiceError with the service's message."""
    with path.open("rb") as handle:
        response = session.post(
            f"{url.rstrip('/')}/v1/ocr", files={"image": (path.name, handle)}, timeout=timeout
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200:
        error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
        code = error.get("code", "http_error")
        message = error.get("message") or response.text[:200]
        raise ServiceError(f"HTTP {response.status_code} {code}: {message}")
    if not isinstance(body, dict):
        raise ServiceError(f"HTTP {response.status_code}: the answer is not JSON")
    return body


def as_text(result: dict) -> str:
    """The lines of an image; a document's page by page, each under a "--- page N ---" header
    ("--- page N, turned 90 ---" when the service turned it upright to read it: OCR_ORIENT)."""
    if "pages" in result:
        return "\n".join(
            "\n".join(
                [
                    f"--- page {page['page']}{_turned(page, ', ')} ---",
                    *(line["text"] for line in page["lines"]),
                ]
            )
            for page in result["pages"]
        )
    return "\n".join(line["text"] for line in result.get("lines", []))


def _turned(result: dict, prefix: str = "") -> str:
    """'turned 90' (clockwise degrees) for an image or page the service turned to read; '' if read as sent."""
    rotation = result.get("rotation")
    return f"{prefix}turned {rotation}" if rotation else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ocr-client", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="image files, PDFs or folders")
    parser.add_argument(
        "--url", default=DEFAULT_URL, help="service base URL (default: %(default)s, env OCR_URL)"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: for several images when stderr is a terminal)",
    )
    args = parser.parse_args(argv)

    files = list(iter_images(args.paths))
    missing = [p for p in files if not p.is_file()]
    if missing:
        print(f"ocr-client: no such file: {missing[0]}", file=sys.stderr)
        return 2
    if not files:
        print("ocr-client: no images found", file=sys.stderr)
        return 2

    failures = 0
    show_names = len(files) > 1
    show_bar = args.progress if args.progress is not None else (len(files) > 1 and None)  # None: tty only
    progress = tqdm(files, unit="image", disable=None if show_bar is None else not show_bar, file=sys.stderr)
    with requests.Session() as session:
        for path in progress:
            try:
                result = read_file(session, args.url, path, args.timeout)
            except ServiceError as exc:
                failures += 1
                tqdm.write(f"ocr-client: {path}: {exc}", file=sys.stderr)
                continue
            except requests.RequestException as exc:
                progress.close()
                print(f"ocr-client: cannot reach the service at {args.url}: {exc}", file=sys.stderr)
                return 2
            if args.format == "json":
                tqdm.write(json.dumps({"file": str(path), **result}, ensure_ascii=False), file=sys.stdout)
            else:
                text = as_text(result)
                tqdm.write(f"==> {path} <==\n{text}" if show_names else text, file=sys.stdout)
                if _turned(result):  # an image (not a document: its pages say it in their headers)
                    tqdm.write(
                        f"ocr-client: {path}: read {_turned(result)} degrees clockwise", file=sys.stderr
                    )
    return 1 if failures else 0


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
