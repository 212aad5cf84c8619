"""Print and capture models (`ocr_synth.capture`): each changes a page the way its cause would."""

import cv2
import numpy as np
import pytest
from ocr_synth import capture


def _page(h=120, w=240):
    """White page, a black bar (ink) at rows 40-60, columns 40-200, and its quad."""
    page = np.full((h, w, 3), 250, np.uint8)
    page[40:60, 40:200] = 20
    quad = np.float32([[40, 40], [200, 40], [200, 60], [40, 60]])
    return page, quad


def _ink(image):
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[40:60, 40:200].astype(np.float32)


def test_thermal_fade_lightens_the_ink_unevenly_and_leaves_the_paper():
    page, _ = _page()
    out = capture.thermal_fade(np.random.default_rng(1), page)
    ink = _ink(out)
    assert ink.mean() > 40  # faded: was 20
    assert ink.mean() < 200  # still darker than the paper
    assert np.ptp(ink.mean(axis=0)) > 10  # worse in some columns than in others
    assert abs(int(out[5, 5, 0]) - 250) <= 1


def test_dot_matrix_prints_the_ink_as_dots_with_gaps_between_them():
    page, _ = _page()
    out = capture.dot_matrix(np.random.default_rng(2), page)
    ink = _ink(out)
    assert (ink < 100).mean() > 0.2  # dots
    assert (ink > 150).mean() > 0.05  # gaps between the dots, where the bar was solid
    assert (cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[:30] > 240).all()  # no ink where there was none


def test_toner_streaks_run_down_the_whole_page():
    page = np.full((100, 300, 3), 250, np.uint8)
    out = cv2.cvtColor(capture.toner_streaks(np.random.default_rng(3), page), cv2.COLOR_RGB2GRAY)
    dark_columns = np.where(out.max(axis=0) < 200)[0]
    assert len(dark_columns) >= 1  # a streak is dark from the top of the page to the bottom


def test_perspective_moves_the_quads_with_the_ink():
    page, quad = _page()
    out, (moved,) = capture.perspective(np.random.default_rng(4), page, [quad], amount=0.1)
    assert not np.allclose(moved, quad, atol=1.0)
    mask = np.zeros(out.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(moved).astype(np.int32)], 1)
    gray = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
    inside, outside = gray[mask == 1], gray[mask == 0]
    assert inside.mean() < 60 and (outside > 128).mean() > 0.97  # the moved quad still holds the bar


def test_shadow_darkens_part_of_the_page_softly():
    page = np.full((200, 200, 3), 240, np.uint8)
    out = cv2.cvtColor(capture.shadow(np.random.default_rng(5), page), cv2.COLOR_RGB2GRAY)
    assert out.min() < 200 and out.max() > 225  # a shadowed part and a lit part
    assert np.abs(np.diff(out.astype(int), axis=1)).max() < 40  # a soft edge, not a cut


def test_low_resolution_keeps_the_size_but_loses_fine_detail():
    page = np.full((64, 64, 3), 255, np.uint8)
    page[:, ::2] = 0  # one-pixel stripes: detail only a full-resolution image keeps
    out = capture.low_resolution(np.random.default_rng(6), page)
    assert out.shape == page.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - page).mean() > 30


def test_low_jpeg_loses_much_more_than_a_normal_jpeg():
    from ocr_synth import degrade

    rng = np.random.default_rng(6)
    page = np.full((64, 64, 3), 255, np.uint8)
    cv2.putText(page, "Ab1", (2, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2)
    lost = np.abs(capture.low_jpeg(rng, page).astype(int) - page).mean()
    normal = np.abs(degrade.jpeg(page, 90).astype(int) - page).mean()
    assert lost > 3 * normal  # text edges ring and block


@pytest.mark.parametrize("seed", range(5))
def test_apply_is_seeded_and_keeps_shapes_and_quad_count(seed):
    page, quad = _page()
    a, qa = capture.apply(np.random.default_rng(seed), page.copy(), [quad, quad + 1])
    b, qb = capture.apply(np.random.default_rng(seed), page.copy(), [quad, quad + 1])
    assert np.array_equal(a, b) and all(np.array_equal(x, y) for x, y in zip(qa, qb, strict=True))
    assert a.shape == page.shape and a.dtype == np.uint8 and len(qa) == 2


def test_training_lines_get_capture_models_and_fine_print_and_evaluation_lines_never_do(monkeypatch):
    from crnn.charset import load

    from crnn import data

    calls, small = [], []
    real_apply, real_small = capture.apply, capture.small_print
    monkeypatch.setattr(capture, "apply", lambda *a: calls.append(1) or real_apply(*a))
    monkeypatch.setattr(capture, "small_print", lambda *a: small.append(a[-1]) or real_small(*a))
    cs = load("gb2312_l1")
    rng = np.random.default_rng(7)
    for _ in range(40):
        data.make_sample(rng, cs, "eval")
    assert not calls and not small
    for _ in range(80):
        data.make_sample(rng, cs, "train")
    assert 8 <= len(calls) <= 45  # CAPTURE_SHARE of 80
    assert 1 <= len(small) <= 20  # SMALL_PRINT_SHARE of 80, at the ink heights of the line's script
    assert set(small) <= set(data.SMALL_PRINT_INK.values())


def test_small_print_shrinks_the_line_to_fine_print_and_its_quad_with_it():
    page, quad = _page()  # ink 20 px tall
    rng = np.random.default_rng(5)
    for _ in range(20):
        out, q = capture.small_print(rng, page, quad, (5.0, 11.0))
        height = q[3, 1] - q[0, 1]
        assert 5.0 <= height <= 11.0
        x0, y0, x1, y1 = (int(round(v)) for v in (*q[0], *q[2]))
        gray = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
        assert gray[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1].max() < 128  # the quad is on the (shrunk) bar
        assert gray[: max(0, y0 - 2)].min() > 200 and gray[y1 + 2 :].min() > 200  # paper around it
    small, _ = capture.small_print(rng, page, quad, (30.0, 40.0))
    assert small is page  # already smaller than asked: left as it is
