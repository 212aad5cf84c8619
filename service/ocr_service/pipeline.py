"""The OCR pipeline both service modes share: image in, lines of text out.

Pre- and post-processing live here and in the model packages (`ctpn.preprocess`,
`ctpn.postprocess`, `crnn.preprocess`); the only thing a mode changes is the `ModelRunner` that
executes the two SavedModels (in-process, or TF Serving over gRPC/REST).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from crnn.preprocess import batch_crops, crop_line
from ctpn.postprocess import detect_lines, page_outputs, reading_order
from ctpn.preprocess import prepare

from .imageio import array_to_rgb, decode_image
from .settings import Settings

if TYPE_CHECKING:
    from .runners import ModelRunner


@dataclass(frozen=True)
class PipelineConfig:
    # Below this many pixels on a side an image cannot hold a readable line; answer without
    # running the models.
    min_side: int = 8
    # Lines per recogniser call. Real pages fit in one call (one round trip in tfserving mode);
    # the bound matches max_batch_size in service/tfserving/batching.config, which TF Serving
    # enforces per request when batching is on.
    max_lines_per_call: int = 64
    # Largest decoded image accepted (a decompression bomb is refused before it is decoded); the
    # service passes its OCR_MAX_PIXELS, whose default is stated once, in Settings.
    max_pixels: int = Settings.max_pixels


@dataclass
class Line:
    text: str
    confidence: float
    box: list[list[float]]  # 4 [x, y] corners, clockwise from top-left, original pixels


@dataclass
class OcrResult:
    width: int
    height: int
    lines: list[Line] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # The version of each model that read this page, e.g. {"ctpn": "1", "crnn": "2"} (None: the
    # runner could not tell); models not run for it (a blank page) are absent.
    models: dict[str, str | None] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class _Stopwatch:
    def __init__(self) -> None:
        self.timings_ms: dict[str, float] = {}
        self._start = self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings_ms[stage] = round((now - self._last) * 1000.0, 2)
        self._last = now

    def finish(self) -> dict[str, float]:
        self.timings_ms["total"] = round((time.perf_counter() - self._start) * 1000.0, 2)
        return self.timings_ms


class Pipeline:
    def __init__(self, runner: ModelRunner, config: PipelineConfig | None = None) -> None:
        self.runner = runner
        self.config = config or PipelineConfig()

    def read(self, image: bytes | np.ndarray) -> OcrResult:
        """Detect and read every text line of `image` (encoded bytes or an array)."""
        clock = _Stopwatch()
        rgb = (
            decode_image(image, self.config.max_pixels)
            if isinstance(image, bytes | bytearray)
            else array_to_rgb(image)
        )
        height, width = rgb.shape[:2]
        clock.lap("decode")
        if min(height, width) < self.config.min_side:
            return OcrResult(width, height, [], clock.finish())

        models: dict[str, str | None] = {}
        quads = self._detect(rgb, clock, models)
        if not quads:
            return OcrResult(width, height, [], clock.finish(), models)
        quads = [quads[i] for i in reading_order(quads)]
        lines = self._recognize(rgb, quads, clock, models)
        return OcrResult(width, height, lines, clock.finish(), models)

    def _served(self, model: str) -> str | None:
        served = getattr(self.runner, "served_version", None)  # runners of tests may not say
        return served(model) if served is not None else None

    def _detect(self, rgb: np.ndarray, clock: _Stopwatch, models: dict) -> list[np.ndarray]:
        prepared, scale = prepare(rgb)
        clock.lap("detect_preprocess")
        outputs = self.runner.predict("ctpn", {"image": prepared[None]})
        models["ctpn"] = self._served("ctpn")
        clock.lap("detect_model")
        quads = detect_lines(page_outputs(outputs, prepared.shape), rgb, scale)
        clock.lap("detect_postprocess")
        return quads

    def _recognize(
        self, rgb: np.ndarray, quads: list[np.ndarray], clock: _Stopwatch, models: dict
    ) -> list[Line]:
        crops = [crop_line(rgb, quad) for quad in quads]
        clock.lap("recognize_preprocess")
        texts: list[str] = []
        confidences: list[float] = []
        step = self.config.max_lines_per_call
        for start in range(0, len(crops), step):
            images, widths = batch_crops(crops[start : start + step])
            outputs = self.runner.predict("crnn", {"images": images, "widths": widths})
            models["crnn"] = self._served("crnn")
            texts.extend(outputs["text"])
            confidences.extend(outputs["confidence"])
        clock.lap("recognize_model")
        lines = []
        # Runners return text outputs as str (ocr_service.runners decodes them, one place for all modes).
        for quad, text, confidence in zip(quads, texts, confidences, strict=True):
            if not text.strip():
                continue  # a detection the recogniser reads as nothing is not a line
            box = [[round(float(x), 1), round(float(y), 1)] for x, y in quad]
            lines.append(Line(text=text, confidence=round(float(confidence), 4), box=box))
        clock.lap("assemble")
        return lines

    def warmup(self) -> None:
        """Run both models once so the first client request does not pay graph tracing."""
        page = np.full((480, 640, 3), 255, dtype=np.uint8)
        prepared, _ = prepare(page)
        self.runner.predict("ctpn", {"image": prepared[None]})
        images, widths = batch_crops([np.full((32, 128), 255, dtype=np.uint8)])
        self.runner.predict("crnn", {"images": images, "widths": widths})
