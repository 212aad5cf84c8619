"""Probability map -> quads: the exact inverse of the kernels DB is trained on."""

import numpy as np
import pytest
from ctpn.metrics import quad_iou
from dbnet.postprocess import detect_lines, kernels_to_quads, order_quad
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


def test_weak_regions_are_not_lines():
    prob = np.zeros((100, 300), np.float32)
    prob[40:50, 20:280] = 0.45  # above the pixel threshold, below the box score
    prob[70:72, 20:280] = 0.95  # 2 px: under the minimum size
    assert kernels_to_quads(prob) == ([], [])


def test_detected_lines_come_back_in_the_page_pixels_and_padding_is_not_read():
    page = np.full((150, 300, 3), 255, np.uint8)
    scale = 2.0
    prob = np.zeros((304, 608), np.float32)  # the prepared page, padded to multiples of 16
    prob[make_maps(304, 608, [rotated(300, 100, 500, 40, 0)]).shrink_map > 0] = 0.9
    prob[302:, :] = 0.9  # below the page: padding
    (q,) = detect_lines(prob, page.shape, scale)
    assert quad_iou(q, rotated(150, 50, 250, 20, 0)) > 0.9
    assert q[:, 0].max() <= 300 and q[:, 1].max() <= 150


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
