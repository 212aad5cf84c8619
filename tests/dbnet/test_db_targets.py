"""DB's training maps: kernels a fixed share of a line's height, borders, masks."""

import cv2
import numpy as np
from dbnet.targets import SHRINK, THRESH_MAX, THRESH_MIN, make_maps


def quad(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def test_a_line_kernel_is_its_central_band_with_a_share_of_its_height_taken_off_each_side():
    maps = make_maps(100, 400, [quad(20, 30, 300, 44)])
    ys, xs = np.nonzero(maps.shrink_map)
    # 14 px tall: 4.2 px off each side leaves [34.2, 39.8) x [24.2, 295.8): the pixels at least half
    # inside are rows 34-39 and columns 24-295
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (34, 39, 24, 295)
    assert maps.shrink_map.sum() == 6 * 272
    assert maps.shrink_mask.all()  # nothing ignored


def test_receipt_rows_printed_two_pixels_apart_have_kernels_far_apart():
    maps = make_maps(80, 300, [quad(10, 10, 290, 26), quad(10, 28, 250, 44)])
    count, _ = cv2.connectedComponents(maps.shrink_map.astype(np.uint8))
    assert count - 1 == 2
    rows = np.nonzero(maps.shrink_map.any(axis=1))[0]
    gap = np.diff(rows).max() - 1
    assert gap >= 2 + 2 * SHRINK * 16 - 2  # the 2 px between the lines and both lines' shrink


def test_the_threshold_map_peaks_on_a_line_outline_and_is_low_elsewhere():
    maps = make_maps(100, 400, [quad(20, 30, 300, 50)])
    assert np.isclose(maps.thresh_map[0, 0], THRESH_MIN)  # far from any line
    assert maps.thresh_map[30, 150] > THRESH_MAX - 0.05  # on the top edge
    assert maps.thresh_map[40, 150] < maps.thresh_map[33, 150]  # lower inside, towards the middle
    # the band: within 6 px (0.3 x 20) of the outline, inside or out
    assert maps.thresh_mask[25, 150] == 1 and maps.thresh_mask[22, 150] == 0
    assert maps.thresh_map.min() >= THRESH_MIN and maps.thresh_map.max() <= THRESH_MAX + 1e-6


def test_lines_cut_by_the_crop_and_lines_too_small_to_shrink_are_ignored_not_taught_as_paper():
    maps = make_maps(100, 400, [quad(20, 10, 200, 13)], ignore=[quad(20, 60, 300, 100)])
    assert maps.shrink_map.sum() == 0
    assert maps.shrink_mask[11, 100] == 0  # the 3 px line
    assert maps.shrink_mask[80, 150] == 0  # the cut line
    assert maps.shrink_mask[40, 150] == 1  # paper


def test_a_line_narrower_than_tall_is_taught_as_a_square_and_found_again():
    from ctpn.metrics import quad_iou
    from dbnet.postprocess import kernels_to_quads

    one = quad(100, 30, 110, 44)  # a receipt's quantity "1": 10 px wide, 14 tall
    maps = make_maps(80, 200, [one])
    ys, xs = np.nonzero(maps.shrink_map)
    assert xs.max() - xs.min() + 1 >= 5 and ys.max() - ys.min() + 1 >= 5  # 0.4 x 14 each way
    (found,), _ = kernels_to_quads(maps.shrink_map)
    assert quad_iou(found, quad(98, 30, 112, 44)) > 0.8  # the square around it
    assert quad_iou(found, one) > 0.5  # a match for the line's own box
