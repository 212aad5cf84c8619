"""The OCR pipeline both service modes share: image in, lines of text out.

Pre- and post-processing live here and in the model packages (`ctpn.preprocess`, the detectors'
`ctpn.postprocess` and `dbnet.postprocess`, `crnn.preprocess`); the only thing a mode changes is the
`ModelRunner` that executes the SavedModels (in-process, or TF Serving over gRPC/REST).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np
from crnn.preprocess import batch_crops, crop_line, line_geometry, width_groups
from ctpn.postprocess import TooManyLines, detect_lines, page_outputs, reading_order
from ctpn.preprocess import prepare
from dbnet.postprocess import detect_lines as segment_lines

from . import deadline, orientation
from .characters import Char, char_boxes
from .errors import ImageTooLarge, NotSupported, OcrError, UnprocessableImage
from .imageio import array_to_rgb, decode_image
from .limits import check_lines, check_shape
from .settings import Settings

if TYPE_CHECKING:
    from .runners import ModelRunner


@dataclass(frozen=True)
class PipelineConfig:
    # Below this many pixels on a side an image cannot hold a readable line; answer without
    # running the models.
    min_side: int = 8
    # Lines per recogniser call, at most (lines are grouped by width into calls: width_groups);
    # the bound matches max_batch_size in service/tfserving/batching.config, which TF Serving
    # enforces per request when batching is on.
    max_lines_per_call: int = 64
    # Largest decoded image accepted (a decompression bomb is refused before it is decoded); the
    # service passes its OCR_MAX_PIXELS, whose default is stated once, in Settings.
    max_pixels: int = Settings.max_pixels
    # Issue 13's bounds on one request's work; the service passes its OCR_* values (Settings owns
    # the defaults): aspect ratio and lines per page, and the deadline of a read that is not
    # inside a request (a request opens its own when its headers arrive).
    max_aspect_ratio: float = Settings.max_aspect_ratio
    max_lines: int = Settings.max_lines
    deadline_s: float = Settings.timeout_s
    # Images of one `read_many` detected at once (OCR_PAGE_THREADS).
    page_threads: int = Settings.page_threads
    # The line detector's model (OCR_DETECTOR): "ctpn" or "dbnet".
    detector: str = Settings.detector
    # Turn each image upright with the `orient` model before reading it (OCR_ORIENT).
    orient: bool = Settings.orient
    # Lines read with less confidence are left out unless a call says otherwise
    # (OCR_MIN_CONFIDENCE, the default of /v1/ocr's `min_confidence`).
    min_confidence: float = Settings.min_confidence

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelineConfig:
        return cls(
            max_pixels=settings.max_pixels,
            max_aspect_ratio=settings.max_aspect_ratio,
            max_lines=settings.max_lines,
            deadline_s=settings.timeout_s,
            page_threads=settings.page_threads,
            detector=settings.detector,
            orient=settings.orient,
            min_confidence=settings.min_confidence,
        )


@dataclass
class Line:
    text: str
    confidence: float
    box: list[list[float]]  # 4 [x, y] corners, clockwise from top-left, original pixels
    chars: list[Char] | None = None  # per character, when asked for (read_many(characters=True))


@dataclass
class OcrResult:
    width: int
    height: int
    lines: list[Line] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # False for detection only (`read_many(..., recognize=False)`): the lines carry boxes, no text.
    recognized: bool = True
    # The version of each model that read this page, e.g. {"dbnet": "1", "crnn": "8"} (None: the
    # runner could not tell); models not run for it (a blank page) are absent.
    models: dict[str, str | None] = field(default_factory=dict)
    # `read_many(..., partial=True)`: why this image alone was refused (too large or elongated, or
    # more lines than OCR_MAX_LINES); its lines are empty and the other images were read.
    error: OcrError | None = None
    # With orientation on (`PipelineConfig.orient`): the clockwise turn, in degrees, applied to the
    # image as sent to read it upright (0, 90, 180, 270); the boxes are in the image as sent. None: off.
    rotation: int | None = None

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class _Stopwatch:
    def __init__(self) -> None:
        self.timings_ms: dict[str, float] = {}
        self._start = self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        # A batch passes each stage once per image: the stage's time is the sum.
        self.timings_ms[stage] = round(self.timings_ms.get(stage, 0.0) + (now - self._last) * 1000.0, 2)
        self._last = now

    def skip(self) -> None:
        """Start the next stage now (the time since the last lap is counted elsewhere)."""
        self._last = time.perf_counter()

    def add(self, other: _Stopwatch) -> None:
        """Add another clock's stage sums (an image detected on another thread)."""
        for stage, ms in other.timings_ms.items():
            self.timings_ms[stage] = round(self.timings_ms.get(stage, 0.0) + ms, 2)

    def finish(self) -> dict[str, float]:
        self.timings_ms["total"] = round((time.perf_counter() - self._start) * 1000.0, 2)
        return self.timings_ms


class Pipeline:
    def __init__(self, runner: ModelRunner, config: PipelineConfig | None = None) -> None:
        self.runner = runner
        self.config = config or PipelineConfig()

    def read(self, image: bytes | np.ndarray) -> OcrResult:
        """Detect and read every text line of `image` (encoded bytes or an array).

        Within the request's deadline (or one of `deadline_s` outside a request): checked between
        stages and line batches, and handed to every model call (ocr_service.deadline).
        """
        with deadline.scope(self.config.deadline_s) as due:
            return self._read(image, due)

    def _read(self, image: bytes | np.ndarray, due: deadline.Deadline) -> OcrResult:
        started = time.perf_counter()
        if isinstance(image, bytes | bytearray):
            config = self.config
            image = decode_image(image, config.max_pixels, config.max_aspect_ratio)
        decode_ms = (time.perf_counter() - started) * 1000.0
        # One image is a batch of one: the same stages, orientation included (OCR_ORIENT); an array
        # is converted and its shape checked there, as every batch's images are.
        (result,), timings = self._read_many([image], due, True, self.config.min_confidence, False, False)
        for stage in ("decode", "total"):
            timings[stage] = round(timings.get(stage, 0.0) + decode_ms, 2)
        result.timings_ms = timings
        return result

    def served_version(self, model: str) -> str | None:
        """The version of `model` that answered this thread's last call (None: the runner cannot tell)."""
        served = getattr(self.runner, "served_version", None)  # runners of tests may not say
        return served(model) if served is not None else None

    def _detect(self, rgb: np.ndarray, clock: _Stopwatch, models: dict[str, str | None]) -> list[np.ndarray]:
        """Quads of the lines of `rgb`, by the detector of the config. Both see the page brought to
        the same scale (`ctpn.preprocess.prepare`): CTPN's proposals are joined into lines and fitted
        to the ink (`ctpn.postprocess`), DB's probability map is cut into kernels each grown back to
        its line (`dbnet.postprocess`)."""
        detector = self.config.detector
        prepared, scale = prepare(rgb)
        clock.lap("detect_preprocess")
        outputs = self.runner.predict(detector, {"image": prepared[None]})
        models[detector] = self.served_version(detector)
        clock.lap("detect_model")
        max_lines = self.config.max_lines
        try:
            if detector == "dbnet":
                quads = segment_lines(outputs["prob"], rgb, scale, max_lines=max_lines)
            else:
                quads = detect_lines(page_outputs(outputs, prepared.shape), rgb, scale, max_lines=max_lines)
        except TooManyLines as exc:  # more lines than OCR_MAX_LINES: refused before any is fitted or read
            check_lines(exc.count, max_lines)
            raise
        clock.lap("detect_postprocess")
        return quads

    def read_many(
        self,
        images: Sequence[np.ndarray],
        *,
        recognize: bool = True,
        min_confidence: float | None = None,
        characters: bool = False,
        partial: bool = False,
    ) -> tuple[list[OcrResult], dict[str, float]]:
        """Read several decoded images (or pages) with shared model calls.

        Each image is detected on its own (detector inputs differ in size), then the lines of all the
        images go to the recogniser together, `config.max_lines_per_call` per call: N images of a
        few lines each cost about one recogniser call instead of N (lines are grouped by width,
        `crnn.preprocess.width_groups`). Returns one result per image, in order, and the timings
        of the whole batch. `min_confidence` drops lines read with less (None: the config's,
        OCR_MIN_CONFIDENCE); `characters` adds each line's characters (NotSupported if the crnn
        model cannot).
        `partial`: an image refused by the bounds on shape (OCR_MAX_PIXELS, OCR_MAX_ASPECT_RATIO) or
        on lines (OCR_MAX_LINES) gets the refusal in its result's `error` and the others are read;
        without it the refusal is raised. A backend that fails or a deadline that passes fails all.
        """
        if min_confidence is None:
            min_confidence = self.config.min_confidence
        with deadline.scope(self.config.deadline_s) as due:
            return self._read_many(images, due, recognize, min_confidence, characters, partial)

    def _read_many(
        self,
        images: Sequence[np.ndarray],
        due: deadline.Deadline,
        recognize: bool,
        min_confidence: float,
        characters: bool,
        partial: bool,
    ) -> tuple[list[OcrResult], dict[str, float]]:
        clock = _Stopwatch()
        config = self.config

        pages = [array_to_rgb(image) for image in images]
        results = [OcrResult(rgb.shape[1], rgb.shape[0], recognized=recognize) for rgb in pages]
        for rgb, result in zip(pages, results, strict=True):
            try:
                check_shape(rgb.shape[1], rgb.shape[0], config.max_pixels, config.max_aspect_ratio)
            except (ImageTooLarge, UnprocessableImage) as exc:
                if not partial:
                    raise
                result.error = exc  # this image alone: the others are read
        clock.lap("decode")

        def detect(number: int, rgb: np.ndarray, result: OcrResult) -> tuple[list[np.ndarray], _Stopwatch]:
            own = _Stopwatch()  # one per image: they may run on several threads
            quads: list[np.ndarray] = []
            if result.error is None and min(rgb.shape[:2]) >= config.min_side:
                due.check(f"detection of image {number} of {len(pages)}")
                if config.orient:
                    pages[number - 1] = rgb = self._orient(rgb, own, result)
                try:
                    quads = self._detect(rgb, own, result.models)
                    check_lines(len(quads), config.max_lines)
                except UnprocessableImage as exc:  # more lines than OCR_MAX_LINES
                    if not partial:
                        raise
                    result.error, result.models, quads = exc, {}, []
            return ([quads[i] for i in reading_order(quads)] if quads else []), own

        jobs = [(n, rgb, result) for n, (rgb, result) in enumerate(zip(pages, results, strict=True), 1)]
        found: list[list[np.ndarray]] = []
        for quads, own in self._each(detect, jobs):
            found.append(quads)
            clock.add(own)
        clock.skip()  # the detection stages are the images' own clocks' sums
        if not recognize:
            for result, quads in zip(results, found, strict=True):
                result.lines = [Line("", 0.0, _box(_as_sent(quad, result))) for quad in quads]
            return results, clock.finish()
        crops = []
        for rgb, quads in zip(pages, found, strict=True):
            if quads:
                gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)  # once per page, not once per line
                crops.extend(crop_line(gray, quad) for quad in quads)
        clock.lap("recognize_preprocess")
        recognizer: dict[str, str | None] = {}
        texts, confidences, per_char = self._run_recognizer(crops, characters, due, recognizer)
        clock.lap("recognize_model")
        turned: set[int] = set()
        if config.orient:
            turned = self._reread_turned(crops, texts, confidences, per_char, characters, due)
            clock.lap("recognize_turned")
        for result, quads in zip(results, found, strict=True):
            if quads:
                result.models.update(recognizer)
        read = iter(enumerate(zip(texts, confidences, per_char, crops, strict=True)))
        for result, quads in zip(results, found, strict=True):
            for quad, share in zip(quads, _height_shares(quads), strict=True):
                index, (text, confidence, positions, crop) = next(read)
                if _kept(text, confidence, min_confidence, share):
                    if index in turned:  # read the other way up: its text starts at the far corner
                        quad = np.roll(quad, 2, axis=0)
                    sent = _as_sent(quad, result)
                    line = Line(text, round(float(confidence), 4), _box(sent))
                    if positions is not None:
                        columns, probs, model_width = positions
                        line.chars = char_boxes(sent, text, columns, probs, crop.shape[1], model_width) or []
                    result.lines.append(line)
        clock.lap("assemble")
        return results, clock.finish()

    def _reread_turned(
        self,
        crops: list[np.ndarray],
        texts: list[str],
        confidences: list[float],
        per_char: list,
        characters: bool,
        due: deadline.Deadline,
    ) -> set[int]:
        """The 180-degree check per line (ocr_service.orientation): the lines read with little
        confidence are read again turned over, in one recogniser call; where the turned reading is
        clearly better it replaces the first (in place, crop included). Returns their indexes."""
        doubtful = [i for i, c in enumerate(confidences) if c < orientation.LINE_RECHECK_BELOW]
        if not doubtful:
            return set()
        over = [np.ascontiguousarray(crops[i][::-1, ::-1]) for i in doubtful]
        again = self._run_recognizer(over, characters, due)
        turned = set()
        for i, crop, text, confidence, chars in zip(doubtful, over, *again, strict=True):
            if confidence >= confidences[i] + orientation.LINE_FLIP_MARGIN:
                texts[i], confidences[i], per_char[i], crops[i] = text, confidence, chars, crop
                turned.add(i)
        return turned

    def _orient(self, rgb: np.ndarray, clock: _Stopwatch, result: OcrResult) -> np.ndarray:
        """The image turned upright by the `orient` model's vote (ocr_service.orientation); sets
        `result.rotation` and the model's version. A page with no text to vote on is read as sent."""
        patches = orientation.page_patches(rgb)
        clock.lap("orient_preprocess")
        k = 0
        if len(patches):
            outputs = self.runner.predict("orient", {"patches": patches})
            result.models["orient"] = self.served_version("orient")
            k, _ = orientation.vote(np.asarray(outputs["probabilities"]))
        clock.lap("orient_model")
        result.rotation = k * 90
        return orientation.upright(rgb, k)

    def _each(self, work, jobs: list[tuple]) -> list:
        """`work(*job)` for each job, in order; `config.page_threads` at once. Each runs in a copy
        of this context (the request's deadline goes with it, so every model call sees it); on the
        first failure the jobs not started are cancelled and it is raised."""
        threads = min(self.config.page_threads, len(jobs))
        if threads <= 1:
            return [work(*job) for job in jobs]
        with ThreadPoolExecutor(threads, thread_name_prefix="ocr-page") as pool:
            futures: list[Future] = [pool.submit(contextvars.copy_context().run, work, *job) for job in jobs]
            try:
                return [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def recognize_lines(
        self, images: Sequence[np.ndarray]
    ) -> tuple[list[tuple[str, float]], dict[str, float]]:
        """Recognition only: each image is one text line (a crop from the client's own detector).

        The whole image is the line: it is rectified to the recogniser's height and contrast
        stretched exactly as the pipeline's own crops are (`crnn.preprocess.crop_line`), without
        extra margin, so a crop should keep a little margin around the ink, as detections do.
        """
        clock = _Stopwatch()
        crops = []
        for image in images:
            rgb = array_to_rgb(image)
            h, w = rgb.shape[:2]
            quad = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
            crops.append(crop_line(rgb, quad, pad_ratio=0.0))
        clock.lap("recognize_preprocess")
        with deadline.scope(self.config.deadline_s) as due:
            texts, confidences, _ = self._run_recognizer(crops, due=due)
        clock.lap("recognize_model")
        return [
            (text, round(float(c), 4)) for text, c in zip(texts, confidences, strict=True)
        ], clock.finish()

    def read_boxes(self, image: np.ndarray, quads: Sequence[np.ndarray]) -> list[Line]:
        """The recogniser alone, on lines of a page whose boxes are already known (no detector).

        Each quad is cropped, read and kept or dropped (`_kept`) as the pipeline does with
        its own detections, so that with the truth's boxes (`ocr-evaluate --truth-boxes`) the
        remaining errors are the recogniser's, and the rest of a page's error is the detector's.
        """
        gray = cv2.cvtColor(array_to_rgb(image), cv2.COLOR_RGB2GRAY)
        quads = [np.asarray(quad, dtype=np.float32).reshape(4, 2) for quad in quads]
        with deadline.scope(self.config.deadline_s) as due:
            texts, confidences, _ = self._run_recognizer([crop_line(gray, quad) for quad in quads], due=due)
        read = zip(texts, confidences, quads, _height_shares(quads), strict=True)
        return [
            Line(text, round(float(confidence), 4), _box(quad))
            for text, confidence, quad, share in read
            if _kept(text, confidence, self.config.min_confidence, share)
        ]

    def _run_recognizer(
        self,
        crops: list[np.ndarray],
        characters: bool = False,
        due: deadline.Deadline | None = None,
        models: dict[str, str | None] | None = None,
    ) -> tuple[list[str], list[float], list[tuple[np.ndarray, np.ndarray, int] | None]]:
        """Texts and confidences of the crops; with `characters`, each crop's (char_columns,
        char_confidence, width the model saw) from the crnn outputs of that name. `due`: checked
        before each line batch (a page with many lines cannot outlive its request); `models` gets
        the crnn version that answered."""
        texts: list[str] = [""] * len(crops)
        confidences: list[float] = [0.0] * len(crops)
        per_char: list[tuple[np.ndarray, np.ndarray, int] | None] = [None] * len(crops)
        # Lines of similar width share a call (a call pads every crop to its widest).
        groups = width_groups([crop.shape[1] for crop in crops], self.config.max_lines_per_call)
        for number, group in enumerate(groups, 1):
            if due is not None:
                due.check(f"line batch {number} of {len(groups)}")
            images, widths = batch_crops([crops[i] for i in group])
            outputs = self.runner.predict("crnn", {"images": images, "widths": widths})
            if models is not None:
                models["crnn"] = self.served_version("crnn")
            for i, text, confidence in zip(group, outputs["text"], outputs["confidence"], strict=True):
                texts[i], confidences[i] = text, float(confidence)
            if not characters:
                continue
            if "char_columns" not in outputs or "char_confidence" not in outputs:
                raise NotSupported(
                    "per-character output needs a crnn model exported with the outputs 'char_columns' and "
                    "'char_confidence' (crnn.export of this release); the model served has "
                    + ", ".join(sorted(outputs))
                )
            rows = zip(group, outputs["char_columns"], outputs["char_confidence"], widths, strict=True)
            for i, columns, probs, width in rows:
                per_char[i] = (columns, probs, int(width))
        return texts, confidences, per_char

    def warmup(self) -> None:
        """Run every model once so the first client request does not pay graph tracing."""
        page = np.full((480, 640, 3), 255, dtype=np.uint8)
        prepared, _ = prepare(page)
        self.runner.predict(self.config.detector, {"image": prepared[None]})
        images, widths = batch_crops([np.full((32, 128), 255, dtype=np.uint8)])
        self.runner.predict("crnn", {"images": images, "widths": widths})
        if self.config.orient:
            patches = np.zeros((orientation.MAX_PATCHES, orientation.PATCH, orientation.PATCH, 1), np.float32)
            self.runner.predict("orient", {"patches": patches})


# A line under half the median height of its page's lines (a speck of dirt, a dotted rule, a
# fragment of a stamp) is answered only when read at least this sure, unless a call keeps every
# line (min_confidence 0). Chosen on 80 real receipts of sroie/train (never on dev): page CER 11.42%
# -> 11.11% with a recogniser of runs/crnn4 (shares 0.4-0.7 and confidences 0.7-1.0 all within
# 0.2 pp); read at 0.8 or surer, a small line is more often fine print than dirt.
SMALL_LINE_SHARE = 0.5
SMALL_LINE_MIN_CONFIDENCE = 0.8


# A dashed or starred separator (a receipt's "-------" or "*******") is found as a line and read as a
# run of 一, -, = or *: a rule, not text, like the solid rules ctpn.refine leaves out. A line of at
# least RULE_MIN_CHARS characters, RULE_SHARE of them from RULE_CHARS, is not answered unless a call
# keeps every line (min_confidence 0). On 150 real receipts of sroie/train (never dev): 8 lines
# left out, all separators, and none of their 8,315 labelled lines is one; page CER 10.86% -> 10.67%.
RULE_CHARS = frozenset("-_=~*.·:一—―－＝＊：")
RULE_MIN_CHARS = 4
RULE_SHARE = 0.8


def _is_rule(text: str) -> bool:
    """Whether a line read is a separator drawn with characters (see RULE_CHARS)."""
    chars = text.replace(" ", "")
    ruled = sum(c in RULE_CHARS for c in chars)
    return len(chars) >= RULE_MIN_CHARS and ruled >= RULE_SHARE * len(chars)


def _kept(text: str, confidence: float, min_confidence: float, height_share: float = 1.0) -> bool:
    """Whether a line read is answered: some text, read at least `min_confidence` sure, not a
    separator (`_is_rule`), and surely when the line is much smaller than the page's others
    (`height_share`: its height / their median)."""
    if not text.strip() or confidence < min_confidence:
        return False
    if min_confidence <= 0:  # the call keeps every line read
        return True
    if _is_rule(text):
        return False
    return height_share >= SMALL_LINE_SHARE or confidence >= SMALL_LINE_MIN_CONFIDENCE


def _height_shares(quads: Sequence[np.ndarray]) -> list[float]:
    """Each line's height over the median height of the page's lines (1.0 for a line alone)."""
    heights = [line_geometry(quad)[1] for quad in quads]  # each at least 1 px
    median = float(np.median(heights)) if heights else 1.0
    return [h / median for h in heights]


def _as_sent(quad: np.ndarray, result: OcrResult) -> np.ndarray:
    """A quad found on the upright image, in the coordinates of the image as sent."""
    if not result.rotation:
        return quad
    return orientation.quad_to_sent(quad, result.rotation // 90, result.width, result.height)


def _box(quad: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 1), round(float(y), 1)] for x, y in quad]
