"""Synthetic data speed on one core: text lines/s (target >= 200) and 1000x800 documents/s (>= 5),
and the process's resident memory after each (`crnn-train`'s renderer process runs the same
loop; the open faces of `ocr_synth.fonts.load`'s cache are most of its growth).

Run: .venv/bin/python bench/synth_speed.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
from ocr_synth import documents, fonts, lines


def _rate(fn, seconds: float) -> str:
    """Items per CPU-second of this process (single-threaded, so the one-core rate, and not skewed by
    other jobs sharing the machine), and per wall-clock second for comparison."""
    n, cpu0, wall0 = 0, time.process_time(), time.perf_counter()
    while time.process_time() - cpu0 < seconds:
        fn(n)
        n += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return f"{n / cpu:7.1f} per CPU-s ({n / wall:6.1f} per wall-s)"


def _memory() -> str:
    """This process's resident memory now, its own (anonymous) and file pages apart, and the faces
    open in the font cache. Each face maps its font file: those pages are the page cache's, shared
    between faces and processes and dropped under pressure, so they swell RSS (2.3 GB of 2.7 GB
    with 1000 faces open) while costing little; the anonymous share is what a face really costs."""
    with open("/proc/self/status") as status:
        fields = (line.split(":", 1) for line in status)
        kib = {k: int(v.split()[0]) for k, v in fields if k.startswith("Rss")}
    info = fonts.load.cache_info()
    return (
        f"RSS anonymous {kib['RssAnon'] / 1024:4.0f} MiB + files {kib['RssFile'] / 1024:5.0f} MiB, "
        f"{info.currsize}/{info.maxsize} faces open"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per benchmark")
    args = parser.parse_args()
    cv2.setNumThreads(1)  # one core: OpenCV would otherwise spread blur/warp over threads
    # warm-up: font files opened and cached, as in a long-running data pipeline
    for i in range(200):
        lines.render_line(np.random.default_rng([0, i]))
    for i in range(10):
        documents.render_document(np.random.default_rng([1, i]), size=(1000, 800))

    for degrade in (False, True):

        def line(i: int, d: bool = degrade) -> None:
            lines.render_line(np.random.default_rng([2, i]), degrade=d)

        print(f"render_line     degrade={degrade!s:5}: {_rate(line, args.seconds)} lines; {_memory()}")
    for degrade in (False, True):

        def doc(i: int, d: bool = degrade) -> None:
            documents.render_document(np.random.default_rng([3, i]), degrade=d, size=(1000, 800))

        print(f"render_document degrade={degrade!s:5}: {_rate(doc, args.seconds)} docs 1000x800; {_memory()}")


if __name__ == "__main__":
    main()
