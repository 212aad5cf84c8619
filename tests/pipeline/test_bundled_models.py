"""The bundled models, through the pipeline both service modes share, on held-out-font pages.

These read the committed `samples/` pages (rendered with WenQuanYi Zen Hei, a font family never
used in training) and score what a user would see: the text and the boxes.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from ocr_service.errors import ImageTooLarge, InvalidImage, UnsupportedImageType
from ocr_service.pipeline import Pipeline, PipelineConfig
from ocr_service.runners import SavedModelRunner
from ocr_tools.evaluate import Score, read_truth, score_page
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
PAGES = ("invoice", "form", "table")

# The bundled models read these three pages at detection F1 1.0 (models/README.md has the CER of
# the first ones). The bounds leave room for numeric noise across CPUs and small retraining
# differences, not for a clearly worse model.
MIN_F1 = 0.95
MAX_CER_NORM = 0.01


@pytest.fixture(scope="module", params=["ctpn", "dbnet"])
def pipeline(request) -> Pipeline:
    """The pipeline with each line detector (OCR_DETECTOR): the tests that detect lines take this one."""
    detector = request.param
    runner = SavedModelRunner(REPO / "models", models=(detector, "crnn"))
    pipeline = Pipeline(runner, PipelineConfig(detector=detector))
    pipeline.warmup()
    return pipeline


@pytest.fixture(scope="module")
def reader() -> Pipeline:
    """The pipeline as configured by default, for the tests of what happens before or after detection."""
    pipeline = Pipeline(SavedModelRunner(REPO / "models"))
    pipeline.warmup()
    return pipeline


def truth(name: str) -> list[tuple[str, np.ndarray]]:
    return read_truth(SAMPLES / f"{name}.json")


def read(pipeline: Pipeline, image) -> list[tuple[str, np.ndarray]]:
    return [(line.text, np.asarray(line.box, dtype=np.float32)) for line in pipeline.read(image).lines]


def test_bundled_models_read_the_sample_pages(pipeline):
    total = Score()
    for name in PAGES:
        total += score_page(read(pipeline, (SAMPLES / f"{name}.png").read_bytes()), truth(name))
    assert total.f1 >= MIN_F1, total.summary()
    assert total.cer_norm <= MAX_CER_NORM, total.summary()


def _sample_pages_enlarged(pipeline: Pipeline, factor: float, canvas: tuple[int, int] | None = None) -> Score:
    """The three sample pages `factor` times as large (alone, or at (300, 400) on a white canvas of
    `canvas` (width, height) px), read and scored in the pages' own pixels."""
    total, origin = Score(), np.array([300, 400] if canvas else [0, 0], np.float32)
    for name in PAGES:
        page = Image.open(SAMPLES / f"{name}.png").convert("RGB")
        image = page.resize((round(page.width * factor), round(page.height * factor)), Image.BICUBIC)
        if canvas:
            sheet = Image.new("RGB", canvas, "white")
            sheet.paste(image, tuple(int(v) for v in origin))
            image = sheet
        lines = [(text, (box - origin) / factor) for text, box in read(pipeline, np.asarray(image))]
        total += score_page(lines, truth(name))
    return total


def test_a_sample_page_enlarged_reads_as_well_as_the_page_itself(pipeline):
    """A photo or a 600 dpi scan of the same page: its text 2.5x as tall. The detector sees it
    brought back to its own scale, and refinement measures in the detector's pixels, so a word
    space is no table-cell gap. Measured when this test was written: the three pages enlarged 2x
    and 3x read at F1 1.0 and 0.3-0.6% CER, as the pages themselves (before: F1 0.81-0.88)."""
    total = _sample_pages_enlarged(pipeline, 2.5)
    assert total.f1 >= MIN_F1, total.summary()
    assert total.cer_norm <= MAX_CER_NORM, total.summary()


def test_a_page_scanned_small_on_a_large_sheet_is_read_at_a_size_the_detector_knows(pipeline):
    """A receipt on an A4 flatbed at 600 dpi: the sample pages at 2x on a 4961 x 7016 px sheet. Fitted
    to 1600 px their text is 9-16 px of blurred ink; the detector gets 1.5x that. Measured when this
    test was written: F1 0.995, 1.3% CER (fitted to 1600 px only: F1 0.77, 33% CER)."""
    total = _sample_pages_enlarged(pipeline, 2.0, canvas=(4961, 7016))
    assert total.f1 >= MIN_F1, total.summary()
    assert total.cer_norm <= 0.03, total.summary()


def test_lines_come_in_reading_order_with_clockwise_boxes_in_original_pixels(pipeline):
    result = pipeline.read((SAMPLES / "form.png").read_bytes())
    assert (result.width, result.height) == (1000, 800)
    boxes = np.asarray([line.box for line in result.lines])
    assert boxes.shape == (len(result.lines), 4, 2)
    top_left, top_right, bottom_right, bottom_left = (boxes[:, i] for i in range(4))
    assert (top_right[:, 0] > top_left[:, 0]).all() and (bottom_right[:, 1] > top_right[:, 1]).all()
    assert (bottom_left[:, 0] < bottom_right[:, 0]).all()
    assert (boxes[..., 0] >= -1).all() and (boxes[..., 0] <= 1001).all()
    # the page title comes first, the last form row last
    assert result.lines[0].box[0][1] < 100 and result.lines[-1].box[0][1] > 650
    tops = [line.box[0][1] for line in result.lines]
    rows = [tops[i + 1] - tops[i] for i in range(len(tops) - 1)]
    assert min(rows) > -15, "a later line starts clearly above an earlier one"
    assert all(0.0 <= line.confidence <= 1.0 for line in result.lines)


def test_the_same_page_reads_the_same_as_gray_rgba_and_16_bit_arrays(pipeline):
    rgb = np.asarray(Image.open(SAMPLES / "invoice.png").convert("RGB"))
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    wide = gray.astype(np.uint16) * 257
    texts = [[t for t, _ in read(pipeline, image)] for image in (gray, rgba, wide)]
    assert texts[0] == texts[2]  # 16-bit gray is exactly the 8-bit gray scaled up
    reference = [t for t, _ in read(pipeline, rgb)]
    assert texts[1] == reference  # opaque RGBA is the RGB page
    # gray loses the seal's red (colour tells it from ink), so only require every true line found
    assert score_page(read(pipeline, gray), truth("invoice")).recall >= MIN_F1


def test_tiny_and_blank_images_give_an_empty_result(pipeline):
    assert pipeline.read(np.zeros((1, 1, 3), np.uint8)).lines == []
    blank = io.BytesIO()
    Image.new("RGB", (640, 480), "white").save(blank, "PNG")
    result = pipeline.read(blank.getvalue())
    assert (result.width, result.height, result.lines) == (640, 480, [])


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"", InvalidImage),
        (b"just some text, not an image", UnsupportedImageType),
        ((SAMPLES / "invoice.png").read_bytes()[:5000], InvalidImage),
    ],
)
def test_bad_bytes_raise_a_clear_error(reader, payload, error):
    with pytest.raises(error) as raised:
        reader.read(payload)
    assert raised.value.message


def test_too_many_pixels_is_refused_before_decoding(reader):
    small = Pipeline(reader.runner, replace(reader.config, max_pixels=100_000))
    with pytest.raises(ImageTooLarge, match="1000x800"):
        small.read((SAMPLES / "invoice.png").read_bytes())


@pytest.mark.parametrize("array", [np.zeros((0, 10, 3), np.uint8), np.zeros((10, 10, 2), np.uint8)])
def test_malformed_arrays_raise_invalid_image(reader, array):
    with pytest.raises(InvalidImage):
        reader.read(array)


class RecordingRunner:
    """The real runner, recording the batch size of every recogniser call."""

    def __init__(self, runner: SavedModelRunner) -> None:
        self.runner, self.crnn_batches = runner, []

    def predict(self, model, inputs):
        if model == "crnn":
            self.crnn_batches.append(len(inputs["widths"]))
        return self.runner.predict(model, inputs)


def test_a_pages_lines_go_to_the_recogniser_in_width_groups_within_the_bound(pipeline):
    page = (SAMPLES / "invoice.png").read_bytes()
    grouped_runner = RecordingRunner(pipeline.runner)
    grouped = Pipeline(grouped_runner, pipeline.config).read(page)
    assert sum(grouped_runner.crnn_batches) == len(grouped.lines)
    assert len(grouped_runner.crnn_batches) < len(grouped.lines)  # grouped, not one call per line
    chunked_runner = RecordingRunner(pipeline.runner)
    chunked = Pipeline(chunked_runner, replace(pipeline.config, max_lines_per_call=5)).read(page)
    assert max(chunked_runner.crnn_batches) <= 5 and sum(chunked_runner.crnn_batches) == len(grouped.lines)
    # Other groups, the same reading: each line keeps its text and place.
    assert [line.text for line in chunked.lines] == [line.text for line in grouped.lines]


def test_a_line_reads_the_same_whatever_else_is_in_its_batch(reader):
    from crnn.preprocess import batch_crops, crop_line

    def text(crops: list[np.ndarray]) -> str:
        images, widths = batch_crops(crops)
        return reader.runner.predict("crnn", {"images": images, "widths": widths})["text"][0]

    wide_blank = np.full((32, 1200), 255, np.uint8)
    changed = []
    for name in PAGES:
        rgb = np.asarray(Image.open(SAMPLES / f"{name}.png").convert("RGB"))
        for _, quad in truth(name):
            crop = crop_line(rgb, quad)
            alone, padded = text([crop]), text([crop, wide_blank])
            if alone != padded:
                changed.append((alone, padded))
    assert changed == []


def _drawn(
    text: str, px: int, pad: int, ink=(0, 0, 0), paper=(255, 255, 255), family: str = "WenQuanYi Zen Hei"
) -> np.ndarray:
    """`text` drawn at `px` pixels in a held-out font (WenQuanYi Zen Hei unless `family` says another
    one of `ocr_synth.fonts.discover("heldout")`) with `pad` px around it."""
    from ocr_synth import fonts
    from PIL import ImageDraw

    spec = next(s for s in fonts.discover("heldout") if s.family == family and not s.bold)
    font = fonts.load(spec, px)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("RGB", (right - left + 2 * pad, bottom - top + 2 * pad), paper)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=ink)
    return np.asarray(image)


@pytest.mark.parametrize(
    ("case", "text", "px", "pad", "paper"),
    [
        ("a sign at 150 px a glyph", "我是中国人", 150, 60, (255, 255, 255)),
        ("two hanzi at 300 px", "发票", 300, 40, (255, 255, 255)),
        ("a shop sign's crop on coloured paper", "韩国小馆", 60, 8, (250, 228, 180)),
        ("a single line cropped tight", "合计金额：¥1,280.00", 32, 4, (255, 255, 255)),
    ],
)
def test_text_of_any_size_is_read_without_resizing_first(pipeline, case, text, px, pad, paper):
    lines = pipeline.read(_drawn(text, px, pad, paper=paper)).lines
    read_text = "".join(line.text for line in lines)
    assert read_text.replace(" ", "") == text.replace(" ", ""), (case, [line.text for line in lines])


MIXED_CASE_LINES = (
    "Thank you!", "Thanks", "Please come again", "Total amount", "Cash paid", "Welcome back",
    "Table for two", "Keep this receipt",
)  # fmt: skip


@pytest.mark.xfail(
    strict=True,
    reason="crnn/8 and crnn/9 learned the receipts' capital words as words: models/README.md, 2026-12-07",
)
def test_words_the_receipts_print_in_capitals_keep_their_small_letters(pipeline):
    """Mixed-case lines at 28 px in the held-out Lato (its Light face): small letters stay small
    after a capital. The real receipts of training print THANK YOU and PLEASE in capitals only;
    crnn/8 reads Thank you! here as THANK YOU! or THaNK yoU!, Thanks as THANKS (4 of the 8 lines
    with capitals for small letters on CTPN's boxes, more on DB's). crnn/9, trained with
    `crnn.data.RECASED_REAL_SHARE`, reads CTPN's boxes with no line in capitals but two with one
    capital too many (PLease, tWo), DB's still as THANK YOU! and THANKS. Expected to fail until a
    shipped recogniser reads them; then drop the mark."""
    readings = {}
    for text in MIXED_CASE_LINES:
        lines = pipeline.read(_drawn(text, 28, 8, family="Lato")).lines
        readings[text] = " ".join(line.text for line in lines)
    wrong = {text: got for text, got in readings.items() if got.replace(" ", "") != text.replace(" ", "")}
    capitalised = {text: got for text, got in wrong.items() if got.lower() == text.lower()}
    assert capitalised == {} and len(wrong) <= 1, wrong


TINY_LINES = (
    "TOTAL 12.50", "CASH 50.00", "Subtotal 8.55", "GST 6% 1.20", "合计 12.50", "Tel: 03-5522",
    "Qty 2 x 4.50", "发票号码 20261127", "Change 0.00", "Thank you!",
)  # fmt: skip


def test_tiny_images_of_10_px_text_are_read_without_resizing_first(pipeline):
    """Ten receipt lines at 10 px (capitals about 7 px tall), each alone in an image 3 px larger
    than its ink: read at under 6% CER, most of them exactly. One line is no test at this size (a
    box a pixel taller reads a character differently); ten are. Measured when crnn/2 was committed:
    7 of 10 exact, 3 edits in 98 characters (crnn/1: the same)."""
    from rapidfuzz.distance import Levenshtein

    edits = exact = chars = 0
    for text in TINY_LINES:
        read_text = "".join(line.text for line in pipeline.read(_drawn(text, 10, 3)).lines)
        distance = Levenshtein.distance(read_text.replace(" ", ""), text.replace(" ", ""))
        edits, exact, chars = edits + distance, exact + (distance == 0), chars + len(text.replace(" ", ""))
    assert edits / chars < 0.06 and exact >= 6, (edits, chars, exact)


def test_a_page_of_8_px_print_is_found_line_by_line_without_resizing_first(pipeline):
    """Ten receipt lines at 8 px (capitals 5 px of ink) on one small page: the detector sees the
    page enlarged, and every line comes back in its row. Measured when this test was written:
    10 of 10 lines found, 24% CER with crnn/2 (RapidOCR 1.4.4 on the same page: 10 lines, 5%);
    27.6% on another machine of the same kind (glyphs of 5 px read differently across CPUs), so
    the bound on the text is loose: this test is about finding the lines."""
    from ocr_synth import fonts
    from rapidfuzz.distance import Levenshtein

    spec = next(s for s in fonts.discover("eval") if s.family == "WenQuanYi Zen Hei" and not s.bold)
    font, px = fonts.load(spec, 8), 8
    page = Image.new("RGB", (222, 20 + 2 * px * len(TINY_LINES)), "white")
    draw = ImageDraw.Draw(page)
    for row, text in enumerate(TINY_LINES):
        draw.text((15 + (row % 2) * 6 * px, 10 + 2 * px * row), text, font=font, fill="black")
    lines = pipeline.read(np.asarray(page)).lines
    assert len(lines) == len(TINY_LINES), [line.text for line in lines]
    rows = [int((np.mean([y for _, y in line.box]) - 10) // (2 * px)) for line in lines]
    assert rows == list(range(len(TINY_LINES)))
    read_text = "".join(line.text for line in lines).replace(" ", "")
    truth_text = "".join(TINY_LINES).replace(" ", "")
    assert Levenshtein.distance(read_text, truth_text) / len(truth_text) < 0.4


def test_the_bundled_recogniser_places_each_character_inside_its_line(reader):
    """`characters`: the bundled crnn exports char_columns/char_confidence (no 501 with it)."""
    from ocr_service.imageio import decode_image

    page = decode_image((SAMPLES / "invoice.png").read_bytes(), 10**8, 50.0)
    (result,), _ = reader.read_many([page], characters=True)
    assert result.lines
    for line in result.lines:
        assert "".join(c.char for c in line.chars) == line.text
        box = np.asarray(line.box)
        xs = [x for c in line.chars for x, _ in c.box]
        assert box[:, 0].min() - 1 <= min(xs) and max(xs) <= box[:, 0].max() + 1
        lefts = [c.box[0][0] for c in line.chars]
        assert lefts == sorted(lefts)  # left to right along the line
        assert all(0.0 < c.confidence <= 1.0 for c in line.chars)


def test_read_boxes_reads_the_lines_of_the_boxes_it_is_given_and_nothing_else(reader):
    """The recogniser alone on known boxes (`ocr-evaluate --truth-boxes`): the invoice's true boxes
    read back their text; a box on blank paper is no line."""
    lines = truth("invoice")
    blank = np.array([[5, 5], [120, 5], [120, 30], [5, 30]], dtype=np.float32)  # the page's empty corner
    image = np.asarray(Image.open(SAMPLES / "invoice.png").convert("RGB"))
    assert image[5:31, 5:121].min() > 200  # (the corner is blank on the committed page)
    read_lines = reader.read_boxes(image, [quad for _, quad in lines] + [blank])
    assert len(read_lines) == len(lines)
    for line, (_, quad) in zip(read_lines, lines, strict=True):
        np.testing.assert_allclose(line.box, quad, atol=0.01)
    total = score_page([(line.text, np.asarray(line.box)) for line in read_lines], lines)
    assert total.f1 == 1.0 and total.cer_norm <= MAX_CER_NORM, total.summary()


class ScaledConfidence:
    """The real runner, the recogniser's confidence multiplied by `scale`."""

    def __init__(self, runner: SavedModelRunner, scale: float) -> None:
        self.runner, self.scale = runner, scale

    def predict(self, model, inputs):
        outputs = self.runner.predict(model, inputs)
        if model == "crnn":
            outputs = {**outputs, "confidence": outputs["confidence"] * self.scale}
        return outputs


def test_a_line_much_smaller_than_the_pages_others_is_answered_only_when_read_surely(reader):
    """Specks, dotted rules and stamp fragments on real receipts are small and read unsurely: a
    line under half the median height of its page's lines needs confidence 0.8, the others the
    page's min_confidence; min_confidence 0 keeps every line."""
    from ocrstack_testing.web import SAMPLE_TEXTS, train_font

    page = Image.new("RGB", (760, 260), "white")
    draw = ImageDraw.Draw(page)
    quads, texts = [], []
    for row, (text, px) in enumerate(zip(SAMPLE_TEXTS[:4], (36, 36, 36, 15), strict=True)):
        font, origin = train_font(px), (30, 20 + 60 * row)
        left, top, right, bottom = draw.textbbox(origin, text, font=font)
        draw.text(origin, text, font=font, fill="black")
        quads.append(np.array([[left, top], [right, top], [right, bottom], [left, bottom]], np.float32))
        texts.append(text)
    image = np.asarray(page)

    def read(scale: float, min_confidence: float = 0.5) -> list[str]:
        config = PipelineConfig(min_confidence=min_confidence)
        lines = Pipeline(ScaledConfidence(reader.runner, scale), config).read_boxes(image, quads)
        return [line.text.replace(" ", "") for line in lines]

    expected = [t.replace(" ", "") for t in texts]
    assert read(1.0) == expected  # all four read surely (the small one too)
    assert read(0.75) == expected[:3]  # read at under 0.8: the small line is left out, the rest not
    assert read(0.75, min_confidence=0.0) == expected


def test_a_separator_drawn_with_characters_is_not_answered_as_text(reader):
    """A receipt's "--------" and "********" rows are found like lines and read as runs of 一, -
    or *: not text, unless a call keeps every line (min_confidence 0). (Boxed this tight, the -
    and = rows read unsurely as 于 and 工, left out by min_confidence; the * row is read surely.)"""
    from ocrstack_testing.web import SAMPLE_TEXTS, train_font

    rows = [SAMPLE_TEXTS[0], "-" * 24, SAMPLE_TEXTS[1], "*" * 24, "=" * 24]
    page = Image.new("RGB", (760, 40 + 50 * len(rows)), "white")
    draw = ImageDraw.Draw(page)
    quads = []
    for row, text in enumerate(rows):
        origin = (30, 20 + 50 * row)
        left, top, right, bottom = draw.textbbox(origin, text, font=train_font(28))
        draw.text(origin, text, font=train_font(28), fill="black")
        quads.append(np.array([[left, top], [right, top], [right, bottom], [left, bottom]], np.float32))

    def read(min_confidence: float) -> list[str]:
        lines = Pipeline(reader.runner, PipelineConfig(min_confidence=min_confidence)).read_boxes(
            np.asarray(page), quads
        )
        return [line.text.replace(" ", "") for line in lines]

    assert read(0.5) == [SAMPLE_TEXTS[0].replace(" ", ""), SAMPLE_TEXTS[1].replace(" ", "")]
    everything = read(0.0)
    assert len(everything) == len(rows), everything
    assert set(everything[3]) == {"*"}, everything  # read as what it is, and left out as a rule
