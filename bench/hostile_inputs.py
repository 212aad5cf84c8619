"""Worst-case cost of one request: time and peak memory of the pipeline on hostile shapes.

Each case runs in a fresh process (in-process SavedModels, mode single, the service's default
limits from `ocr_service.settings.Settings`), after a warm-up, so its peak RSS is its own:

    python bench/hostile_inputs.py [--models models] [--case NAME ...]

Prints one row per case: the answer (lines read, or the HTTP status and error code the service
gives), the wall time, the worker's RSS before and its peak during the request.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _lines_page(width: int, height: int, pitch: int = 20) -> Image.Image:
    """Every `pitch` px a row of short black dashes: as many detected lines as a page can hold."""
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for y in range(8, height - 16, pitch):
        for x in range(8, width - 120, 160):
            for k in range(6):
                draw.rectangle([x + k * 16, y, x + k * 16 + 9, y + 11], fill=0)
    return image


CASES = {
    "white_12x300000": lambda: _png(Image.new("L", (12, 300_000), 255)),
    "white_300000x12": lambda: _png(Image.new("L", (300_000, 12), 255)),
    "white_8x5000000": lambda: _png(Image.new("L", (8, 5_000_000), 255)),
    "white_6324x6324": lambda: _png(Image.new("L", (6324, 6324), 255)),
    "lines_2000x2000": lambda: _png(_lines_page(2000, 2000)),
    "lines_1000x12000": lambda: _png(_lines_page(1000, 12_000)),
    "rgba16_4000x3000": lambda: _png(Image.fromarray(np.full((3000, 4000), 40000, np.uint16))),
}


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_one(name: str, models: Path) -> dict:
    from ocr_service.errors import OcrError
    from ocr_service.pipeline import Pipeline, PipelineConfig
    from ocr_service.runners import SavedModelRunner
    from ocr_service.settings import Settings

    data = CASES[name]()
    settings = Settings(model_dir=models)
    config = (
        PipelineConfig.from_settings(settings)
        if hasattr(PipelineConfig, "from_settings")
        else PipelineConfig(max_pixels=settings.max_pixels)  # before the limits of issue 13
    )
    pipeline = Pipeline(SavedModelRunner(models), config)
    pipeline.warmup()
    before = _rss_mib()
    started = time.perf_counter()
    try:
        result = pipeline.read(data)
        answer = f"200, {len(result.lines)} lines"
    except OcrError as exc:
        answer = f"{exc.http_status} {exc.code}"
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"case": name, "bytes": len(data), "answer": answer, "seconds": round(seconds, 2),
            "rss_before_mib": round(before), "peak_rss_mib": round(peak)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--case", action="append", choices=sorted(CASES))
    parser.add_argument("--one", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.models)))
        return
    print(f"| case | bytes | answer | s | RSS before MiB | peak RSS MiB |   ({os.cpu_count()} CPUs)")
    print("|---|---|---|---|---|---|")
    for name in args.case or CASES:
        cmd = [sys.executable, __file__, "--models", str(args.models), "--one", name]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env)
            row = json.loads(out.stdout.strip().splitlines()[-1])
        except subprocess.TimeoutExpired:
            print(f"| {name} | | over {args.timeout:g} s | | | |", flush=True)
            continue
        except (IndexError, json.JSONDecodeError):
            print(f"| {name} | | crashed: {out.stderr[-300:]!r} | | | |", flush=True)
            continue
        print(
            f"| {name} | {row['bytes']} | {row['answer']} | {row['seconds']} | "
            f"{row['rss_before_mib']} | {row['peak_rss_mib']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
