import numpy as np
from ctpn.anchors import ANCHOR_HEIGHTS, base_anchors, grid_anchors


def test_base_anchors_are_16_wide_with_the_ctpn_heights_centred_in_the_cell():
    a = base_anchors()
    assert a.shape == (10, 4)
    np.testing.assert_array_equal(a[:, 0], 0.0)
    np.testing.assert_array_equal(a[:, 2], 15.0)
    np.testing.assert_array_equal(a[:, 3] - a[:, 1] + 1, ANCHOR_HEIGHTS)
    np.testing.assert_array_equal((a[:, 1] + a[:, 3]) / 2, 7.5)
    np.testing.assert_array_equal(a[0], [0.0, 2.5, 15.0, 12.5])
    np.testing.assert_array_equal(a[-1], [0.0, -133.5, 15.0, 148.5])


def test_grid_anchors_order_is_row_major_then_k():
    g = grid_anchors(2, 3)
    assert g.shape == (2 * 3 * 10, 4)
    # index = (y * feat_w + x) * 10 + k
    np.testing.assert_array_equal(g[0], [0.0, 2.5, 15.0, 12.5])
    np.testing.assert_array_equal(g[9], [0.0, -133.5, 15.0, 148.5])
    np.testing.assert_array_equal(g[10], [16.0, 2.5, 31.0, 12.5])
    np.testing.assert_array_equal(g[(1 * 3 + 2) * 10 + 1], [32.0, 16.0, 47.0, 31.0])
