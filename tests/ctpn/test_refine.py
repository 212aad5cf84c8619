import numpy as np
import pytest
from ctpn.refine import _dashed_rules, refine_quad, refine_quads
from ocrstack_testing.standin_docs import find_fonts
from PIL import Image, ImageDraw, ImageFont


def box(x1, y1, x2, y2):
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float32)


@pytest.fixture(scope="module")
def page():
    """Two 2-character table cells 40 px apart on one row, and their ink boxes (pixel edges)."""
    fonts = [f for f in find_fonts() if "DejaVuSans.ttf" in f] or find_fonts()
    font = ImageFont.truetype(fonts[0], 24)
    img = Image.new("L", (400, 100), 255)
    draw = ImageDraw.Draw(img)
    draw.text((100, 30), "AB", font=font, fill=0)
    first = np.asarray(img) < 128
    x_end = int(np.nonzero(first.any(0))[0].max())
    draw.text((x_end + 41, 30), "42", font=font, fill=0)
    ink = np.asarray(img) < 128
    boxes = []
    for cols in (np.arange(0, x_end + 1), np.arange(x_end + 1, 400)):
        part = np.zeros_like(ink)
        part[:, cols] = ink[:, cols]
        ys, xs = np.nonzero(part)
        boxes.append(box(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    return np.asarray(img), boxes


def test_a_too_wide_detection_shrinks_to_the_ink(page):
    gray, (ab, _) = page
    wide = ab + np.array([[-16, -3], [16, -3], [16, 3], [-16, 3]], dtype=np.float32)
    (got,) = refine_quad(gray, wide)
    np.testing.assert_allclose(got, ab, atol=1.0)


def test_a_too_short_detection_grows_to_the_ink_within_the_search_window(page):
    gray, (ab, _) = page
    short = ab + np.array([[12, 2], [-10, 2], [-10, -2], [12, -2]], dtype=np.float32)
    (got,) = refine_quad(gray, short)
    np.testing.assert_allclose(got, ab, atol=1.0)


def test_a_neighbouring_cell_is_not_merged(page):
    gray, (ab, cell2) = page
    # the detection reaches 20 px into the 40 px gap; the next cell is within the search window
    reach = ab + np.array([[0, 0], [20, 0], [20, 0], [0, 0]], dtype=np.float32)
    (got,) = refine_quad(gray, reach)
    np.testing.assert_allclose(got, ab, atol=1.0)


def test_a_detection_spanning_two_cells_is_split(page):
    gray, (ab, cell2) = page
    both = box(ab[0, 0], ab[0, 1], cell2[1, 0], ab[2, 1])
    got = refine_quads(np.repeat(gray[..., None], 3, axis=2), [both])
    assert len(got) == 2
    np.testing.assert_allclose(got[0], ab, atol=1.0)
    np.testing.assert_allclose(got[1], cell2, atol=1.0)


def test_a_vertical_rule_next_to_the_text_is_not_ink(page):
    gray, (ab, _) = page
    ruled = gray.copy()
    x_rule = int(ab[0, 0]) - 5
    ruled[:, x_rule : x_rule + 2] = 0
    (got,) = refine_quad(ruled, ab + np.array([[-10, 0], [0, 0], [0, 0], [-10, 0]], dtype=np.float32))
    np.testing.assert_allclose(got, ab, atol=1.0)


def test_a_detection_without_ink_is_dropped():
    blank = np.full((100, 200), 255, dtype=np.uint8)
    assert refine_quad(blank, box(20, 20, 120, 40)) == []


def test_a_red_seal_is_not_text(page):
    gray, (ab, _) = page
    rgb = np.repeat(gray[..., None], 3, axis=2).copy()
    rgb[20:60, 250:300] = (210, 60, 50)  # a red seal's star where there is no text
    assert refine_quads(rgb, [box(246, 24, 304, 56)]) == []
    (got,) = refine_quads(rgb, [ab])
    np.testing.assert_allclose(got, ab, atol=1.0)


def test_fine_print_the_detector_saw_enlarged_is_a_line_and_a_speck_is_not():
    """Capitals of 6-8 px print are 4-5 px of ink: a line where the detector saw the page enlarged
    4.8x (the pipeline's scale for such a page), no line at the page's own scale (a speck)."""
    fonts = [f for f in find_fonts() if "DejaVuSans.ttf" in f] or find_fonts()
    img = Image.new("L", (80, 14), 255)
    ImageDraw.Draw(img).text((4, 3), "TOTAL", font=ImageFont.truetype(fonts[0], 6), fill=0)
    gray = np.asarray(img)
    ys, xs = np.nonzero(gray < 128)
    ink = box(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert ys.max() + 1 - ys.min() == 4  # (fine print: less ink than MIN_HEIGHT)
    loose = ink + np.array([[-2, -1], [2, -1], [2, 1], [-2, 1]], np.float32)
    (got,) = refine_quad(gray, loose, px=1 / 4.8)
    np.testing.assert_allclose(got, ink, atol=1.0)  # (grey edge rows of the glyphs count as ink)
    assert refine_quad(gray, ink, px=1.0) == []
    assert refine_quad(gray, ink, px=2.0) == []  # seen shrunk: a speck all the more


def _dashed_rule(draw: ImageDraw.ImageDraw, y: int, x0: int, x1: int, wobble: int = 0) -> None:
    """A receipt's dashed rule: 7 px dashes, 5 px apart, 2 px thick; `wobble`: every other dash
    that many px lower, as a scan draws them."""
    for i, x in enumerate(range(x0, x1, 12)):
        dy = wobble * (i % 2)
        draw.rectangle((x, y + dy, x + 6, y + dy + 1), fill=0)


def _text_and_rules(text: str, font_path: str) -> tuple[np.ndarray, np.ndarray]:
    """`text` at 24 px with a dashed rule 2 px above and below its ink; (page, the text's ink box)."""
    font = ImageFont.truetype(font_path, 24)
    img = Image.new("L", (420, 100), 255)
    draw = ImageDraw.Draw(img)
    draw.text((40, 30), text, font=font, fill=0)
    ys, xs = np.nonzero(np.asarray(img) < 128)
    ink = box(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    _dashed_rule(draw, int(ys.min()) - 4, 10, 410)
    _dashed_rule(draw, int(ys.max()) + 3, 10, 410)
    return np.asarray(img), ink


def test_dashed_rules_touching_a_line_are_not_part_of_it():
    """Receipts print ------ rules a pixel or two from the text: left in, they were read as rows of
    T (TOTAL: as TTTTOTAT:TTT). The line's box is its text's ink, and the rules make no lines."""
    fonts = [f for f in find_fonts() if "DejaVuSans.ttf" in f] or find_fonts()
    gray, ink = _text_and_rules("TOTAL: 26.82", fonts[0])
    detected = ink + np.array([[-8, -6], [8, -6], [8, 6], [-8, 6]], dtype=np.float32)
    (got,) = refine_quad(gray, detected)
    np.testing.assert_allclose(got, ink, atol=1.0)


def test_hyphens_dots_and_the_strokes_of_hanzi_numerals_are_not_dashed_rules():
    """Short marks in a row are text unless they run on for several line heights: a phone number's
    hyphen, a price's dot, 一二三 and 三三 (rows of thin strokes two or three characters long) and a
    Chinese dash —— (two characters long) stay, in the regular face of every hanzi family of
    training."""
    from ocr_synth import fonts as synth_fonts

    dejavu = [f for f in find_fonts() if "DejaVuSans.ttf" in f] or find_fonts()
    cases = [("03-4296 - 8869 ... 12.50", ImageFont.truetype(dejavu[0], 24))]
    hanzi = [spec for spec in synth_fonts.discover("train") if spec.cjk and not spec.bold and not spec.weight]
    cases += [
        (text, synth_fonts.load(spec, 24))
        for spec in hanzi
        for text in ("第一二三条", "三三两两", "价格——面议")
    ]
    for text, font in cases:
        img = Image.new("L", (420, 100), 255)
        ImageDraw.Draw(img).text((40, 30), text, font=font, fill=0)
        ink = np.asarray(img) < 128
        ys = np.nonzero(ink.any(1))[0]
        assert not _dashed_rules(ink, height=float(ys.max() + 1 - ys.min())).any(), text
    for wobble in (0, 1):  # a rule is all of its dashes, however they wander
        rule = Image.new("L", (420, 20), 255)
        _dashed_rule(ImageDraw.Draw(rule), 8, 10, 410, wobble)
        ink = np.asarray(rule) < 128
        np.testing.assert_array_equal(_dashed_rules(ink, height=18.0), ink)


@pytest.mark.parametrize("x", [-2, 0, 40])
def test_a_line_that_starts_with_a_dash_at_the_images_edge_keeps_it(x):
    """Beyond the image is paper, not ink: —— at the left edge (cut by it at x=-2) is two
    characters long, no rule, and the line's box starts at its ink."""
    from ocr_synth import fonts as synth_fonts

    spec = next(s for s in synth_fonts.discover("train") if s.family == "AR PL SungtiL GB" and not s.bold)
    img = Image.new("L", (300, 100), 255)
    ImageDraw.Draw(img).text((x, 30), "——面议", font=synth_fonts.load(spec, 24), fill=0)
    gray = np.asarray(img)
    ys, xs = np.nonzero(gray < 128)
    ink = box(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    detected = ink + np.array([[-2, -1], [2, -1], [2, 1], [-2, 1]], dtype=np.float32)
    detected[:, 0] = np.maximum(detected[:, 0], 0)
    (got,) = refine_quad(gray, detected)
    np.testing.assert_allclose(got[:, 0], ink[:, 0], atol=1.0)
