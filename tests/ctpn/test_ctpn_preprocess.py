import numpy as np
import pytest
from ctpn.postprocess import reading_order
from ctpn.preprocess import prepare


@pytest.mark.parametrize(
    ("h", "w", "shape", "scale"),
    [
        (1000, 800, (1008, 800, 3), 1.0),
        (1000, 3200, (512, 1600, 3), 0.5),
        (32, 100, (64, 208, 3), 2.0),
        (300, 200, (304, 208, 3), 1.0),
    ],
)
def test_prepare_scale_policy_and_padding(h, w, shape, scale):
    img = np.zeros((h, w, 3), dtype=np.uint8)
    out, s = prepare(img)
    assert out.shape == shape and out.dtype == np.uint8
    assert s == scale
    nh, nw = round(h * s), round(w * s)
    assert (out[:nh, :nw] == 0).all()
    assert (out[nh:] == 255).all() and (out[:, nw:] == 255).all()


def box(x1, y1, x2, y2):
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float32)


def test_reading_order_rows_then_x():
    quads = [
        box(300, 52, 380, 70),  # row 2, right cell (slightly lower)
        box(10, 10, 200, 30),  # row 1
        box(10, 50, 100, 68),  # row 2, left cell
        box(150, 49, 250, 67),  # row 2, middle cell (slightly higher)
        box(10, 90, 200, 110),  # row 3
    ]
    assert reading_order(quads) == [1, 2, 3, 0, 4]
    assert reading_order([]) == []


def _glyphs(height: int, glyph_h: int, count: int = 12, page_w: int = 900) -> np.ndarray:
    """A white page with `count` black bars glyph_h tall and glyph_h/2 wide: text of a known size."""
    page = np.full((height, page_w, 3), 255, dtype=np.uint8)
    w = max(2, glyph_h // 2)
    for i in range(count):
        x = 10 + i * (w + max(3, glyph_h // 4))
        page[20 : 20 + glyph_h, x : x + w] = 0
    return page


@pytest.mark.parametrize("glyph_h", [6, 20, 150])
def test_ink_height_is_the_height_of_the_glyphs(glyph_h):
    from ctpn.preprocess import ink_height

    gray = _glyphs(glyph_h + 60, glyph_h, count=5 if glyph_h > 100 else 12, page_w=1800)[:, :, 0]
    assert ink_height(gray) == glyph_h


def test_dashed_rules_and_blank_pages_do_not_count_as_text():
    from ctpn.preprocess import ink_height

    page = _glyphs(200, 20)[:, :, 0]
    for x in range(0, 880, 12):  # a receipt's dashed rule: 30 dashes of 8 x 3 px under the text
        page[100:103, x : x + 8] = 0
    assert ink_height(page) == 20
    assert ink_height(np.full((100, 100), 255, np.uint8)) is None


def _scanned_on_black(page: np.ndarray) -> np.ndarray:
    """`page` as a flatbed scans a receipt: black beyond its torn rim, which breaks into slivers 1-2
    px wide and hundreds of px tall along the left edge, and a black corner (as sroie_415)."""
    page = page.copy()
    h, w = page.shape[:2]
    page[: h // 8, : w // 10] = 0
    for top in range(h // 6, h - 60, h // 5):
        page[top : top + h // 8, 0 : 1 + top % 2] = 0
    page[h - 10 :, : w // 3] = 0
    return page


@pytest.mark.parametrize("ink", [0, 200])
def test_a_scans_dark_surround_is_not_taken_for_text(ink):
    from ctpn.preprocess import ink_height, scale_for

    page = _glyphs(1600, 20, count=30, page_w=800)
    for top in range(100, 1500, 60):  # 24 lines of 20 px text, dark or as faint as thermal print
        page[top : top + 20] = page[20:40]
    page[page == 0] = ink
    scan = _scanned_on_black(page)
    if ink == 0:  # the print is ink: the surround changes nothing
        assert ink_height(scan[:, :, 0]) == 20
    else:  # Otsu leaves faint print on the paper's side: unmeasured, not 26-fold shrunk
        assert ink_height(scan[:, :, 0]) is None
    assert scale_for(scan) == 1.0


@pytest.mark.parametrize(
    ("glyph_h", "page_h", "scale", "longest"),
    [
        (20, 400, 1.0, 1600),  # in the trained band: left alone
        (150, 400, 24 / 150, 1600),  # a sign: shrunk to 24 px text
        (6, 200, 4.0, 1600),  # tiny print: enlarged to 24 px text
        (6, 1000, 1600 / 1000, 1600),  # ... but never past MAX_SIDE on the longer side
        (30, 4000, 2400 / 4000, 2400),  # a large scan: 12 px after the fit, up to 1.5x the fit
        (60, 4000, 1600 / 4000, 1600),  # ... whose text is not small after the fit: the fit
    ],
)
def test_text_far_outside_the_trained_sizes_is_scaled_to_24_px(glyph_h, page_h, scale, longest):
    page = _glyphs(page_h, glyph_h, count=4, page_w=min(900, page_h))
    out, s = prepare(page)
    assert s == pytest.approx(scale)
    assert max(out.shape[:2]) <= longest + 15


def test_a_short_line_crop_is_padded_not_enlarged():
    crop = _glyphs(40, 22, count=8, page_w=300)
    out, s = prepare(crop)
    assert s == 1.0 and out.shape == (64, 304, 3)
    assert (out[:40, :300] == crop).all() and (out[40:] == 255).all()
