"""Probability map -> quads: the exact inverse of the kernels DB is trained on."""

import cv2
import numpy as np
import pytest
from ctpn.metrics import quad_iou
from dbnet.postprocess import detect_lines, join_split_lines, kernels_to_quads, order_quad
from dbnet.targets import make_maps


def rotated(cx, cy, w, h, deg):
    a = np.deg2rad(deg)
    corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]], np.float64) / 2
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (corners @ rot.T + [cx, cy]).astype(np.float32)


@pytest.mark.parametrize("seed", range(4))
def test_the_kernels_of_lines_grow_back_into_those_lines(seed):
    rng = np.random.default_rng(seed)
    truth, y = [], 10.0
    while True:
        h = float(rng.uniform(10, 40))
        if y + h > 590:
            break
        w = float(rng.uniform(4 * h, 700))
        truth.append(rotated(rng.uniform(w / 2 + 20, 780 - w / 2), y + h / 2, w, h, rng.uniform(-2, 2)))
        y += h + float(rng.uniform(3, 12))
    maps = make_maps(600, 800, truth)
    found, scores = kernels_to_quads(maps.shrink_map)
    assert len(found) == len(truth)
    assert min(scores) > 0.9  # the mean over each rectangle, whose corners may miss a pixel
    for t in truth:
        assert max(quad_iou(f, t) for f in found) > 0.9


def test_a_digit_alone_in_a_cell_comes_back_upright_around_its_kernel():
    """A blob a few pixels across, as DB finds a lone "5" in a table cell: its minimum-area
    rectangle lies at 30 degrees, which turned the crop so far that the recogniser read nothing.
    The line comes back upright and covers the digit's own box."""
    digit = np.float32([[100, 50], [111, 50], [111, 64], [100, 64]])  # 11 x 14 px, as drawn
    prob = np.zeros((120, 200), np.float32)
    cv2.fillPoly(prob, [np.round(rotated(105.5, 57, 8, 5, 30)).astype(np.int32)], 0.9)  # the kernel
    (q,), _ = kernels_to_quads(prob)
    assert np.allclose(q[0, 1], q[1, 1]) and np.allclose(q[0, 0], q[3, 0])  # upright
    assert quad_iou(q, digit) > 0.5
    assert q[:, 0].min() <= 100 and q[:, 0].max() >= 111


def test_weak_regions_are_not_lines():
    prob = np.zeros((100, 300), np.float32)
    prob[40:50, 20:280] = 0.45  # above the pixel threshold, below the box score
    prob[70:72, 20:280] = 0.95  # 2 px: under the minimum size
    assert kernels_to_quads(prob) == ([], [])


def test_detected_lines_come_back_in_the_page_pixels_and_padding_is_not_read():
    page = np.full((300, 600, 3), 255, np.uint8)
    scale = 0.5  # the detector saw the page shrunk: its lines are DB's own rectangles
    prob = np.zeros((160, 304), np.float32)  # the prepared page, padded to multiples of 16
    prob[make_maps(160, 304, [rotated(150, 50, 250, 20, 0)]).shrink_map > 0] = 0.9
    prob[152:, :] = 0.9  # below the page: padding
    (q,) = detect_lines(prob, page, scale)
    assert quad_iou(q, rotated(300, 100, 500, 40, 0)) > 0.9
    assert q[:, 0].max() <= 600 and q[:, 1].max() <= 300


def test_on_a_page_the_detector_saw_enlarged_lines_are_fitted_to_the_ink():
    """Fine print enlarged 2x: the kernel grows back into a rectangle 4 px too tall and 10 px too
    wide (DB's map follows the blur of the enlargement), the line that comes back is the ink's."""
    page = np.full((60, 200, 3), 255, np.uint8)
    for x in range(30, 150, 9):  # a line of 14 glyph-like strokes, 6 x 10 px, 3 px apart
        page[20:30, x : x + 6] = 0
    left, right, top, bottom = 30, 153, 20, 30  # the ink's edges: the last stroke is 147 to 152
    scale = 2.0
    # the ink's line in the map, 5 px (10 in the map) past each end and 2 px past top and bottom
    loose = rotated(scale * (left + right) / 2, scale * (top + bottom) / 2, scale * 133, scale * 14, 0)
    prob = np.zeros((128, 400), np.float32)
    prob[make_maps(128, 400, [loose]).shrink_map > 0] = 0.9
    (q,) = detect_lines(prob, page, scale)
    np.testing.assert_allclose(
        [q[:, 0].min(), q[:, 0].max(), q[:, 1].min(), q[:, 1].max()], [left, right, top, bottom], atol=1.0
    )


def test_a_bound_above_the_candidates_cap_still_sees_every_line():
    prob = np.zeros((16 * 1010, 64), np.float32)
    for row in range(1010):  # 1010 lines, more than PaddleOCR's 1000 candidates
        prob[16 * row + 4 : 16 * row + 10, 8:56] = 0.9
    page = np.full((16 * 1010, 64, 3), 255, np.uint8)
    assert len(detect_lines(prob, page, 1.0, max_lines=2000)) == 1010


def test_more_kernels_than_max_lines_are_refused_before_any_is_fitted(monkeypatch):
    import dbnet.postprocess as postprocess
    from ctpn.postprocess import TooManyLines

    prob = np.zeros((128, 400), np.float32)
    for row in range(3):
        prob[10 + 40 * row : 20 + 40 * row, 20:380] = 0.9
    page = np.full((64, 200, 3), 255, np.uint8)  # seen enlarged 2x: its lines would be fitted
    monkeypatch.setattr(postprocess, "refine_quads", lambda *a: pytest.fail("fitted before the count"))
    with pytest.raises(TooManyLines, match="3 text lines detected; the limit is 2"):
        detect_lines(prob, page, 2.0, max_lines=2)


def test_corners_come_in_reading_order_whatever_the_rectangle_gave():
    box = np.array([[10, 20], [10, 5], [100, 5], [100, 20]], np.float32)
    assert order_quad(box).tolist() == [[10, 5], [100, 5], [100, 20], [10, 20]]


def test_reading_a_probability_map_needs_no_clipper():
    """Serving reads maps with dbnet.postprocess alone; pyclipper (polygon offsets) is for training."""
    import subprocess
    import sys

    code = "import sys, dbnet.postprocess; print('pyclipper' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _kernel_map(shape, lines):
    prob = np.zeros(shape, np.float32)
    prob[make_maps(*shape, lines).shrink_map > 0] = 0.9
    return prob


@pytest.mark.parametrize("deg", [0, 6])
def test_a_line_whose_kernel_breaks_inside_a_word_comes_back_whole(deg):
    """A fold or a faded letter cuts the kernel by less than it grows back (0.3 x 20 px a side): the
    two halves' rectangles overlap, and each crop would read the letters of the seam."""
    line = rotated(200, 60, 300, 20, deg)
    prob = _kernel_map((120, 400), [line])
    along = np.array([np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))])
    ys, xs = np.nonzero(prob)
    seam = np.abs((np.stack([xs, ys], 1) - [200, 60]) @ along - 20) < 3  # 6 px gap, off centre
    prob[ys[seam], xs[seam]] = 0
    assert len(kernels_to_quads(prob)[0]) == 2
    (q,) = detect_lines(prob, np.full((120, 400, 3), 255, np.uint8), 1.0)
    assert quad_iou(q, line) > 0.9


def test_cells_of_one_row_and_lines_close_above_each_other_stay_apart():
    """A receipt's row: an item, `1 X` and a price 30 px apart, each its own line; a second row 4 px
    under the first, whose rectangles grow into the first row's by more than the gap."""
    rows = [rotated(x, y, w, 20, 0) for y in (40, 64) for x, w in ((80, 120), (200, 40), (290, 60))]
    prob = _kernel_map((100, 360), rows)
    found = detect_lines(prob, np.full((100, 360, 3), 255, np.uint8), 1.0)
    assert len(found) == 6
    for t in rows:
        assert max(quad_iou(f, t) for f in found) > 0.9


@pytest.mark.parametrize(
    "lines",
    [
        # a stamp's text at 30 degrees over a printed line
        [rotated(200, 60, 300, 20, 0), rotated(200, 60, 160, 20, 30)],
        # a vertical label whose box reaches into the start of a line (order_quad's top edge of a
        # vertical line is its thickness: taken for its direction, the two ran alike)
        [rotated(175, 60, 300, 20, 0), rotated(20, 60, 90, 20, 90)],
        [rotated(200, 60, 160, 20, 90), rotated(200, 60, 300, 20, 0)],
        # two vertical columns whose boxes overlap by a pixel
        [rotated(100, 100, 160, 20, 90), rotated(119, 100, 160, 20, 90)],
    ],
    ids=["stamp", "vertical-label", "vertical-across", "vertical-columns"],
)
def test_lines_that_cross_or_run_down_the_page_are_not_joined(lines):
    assert len(join_split_lines([order_quad(q) for q in lines])) == len(lines)


def test_a_large_amount_touching_two_rows_of_small_print_stays_three_lines():
    """Each row shares 0.6 of its own height with the amount, but not of the amount's: joined,
    the crop would hold three rows."""
    rows = [rotated(100, 40, 160, 10, 0), rotated(100, 59, 160, 10, 0), rotated(220, 50, 120, 30, 0)]
    assert len(join_split_lines([order_quad(q) for q in rows])) == 3


def test_pieces_that_step_down_the_page_are_not_joined_into_one_tall_box():
    """Each piece 8 px below the last shares 0.6 of its 20 px with it; joined in a chain, six would
    be one box 60 px tall."""
    steps = [order_quad(rotated(60 + 50 * k, 40 + 8 * k, 60, 20, 0)) for k in range(6)]
    found = join_split_lines(steps)
    assert max(np.ptp(q[:, 1]) for q in found) <= 1.3 * 20 + 1e-3
