import numpy as np
from ctpn.anchors import grid_anchors
from ctpn.targets import anchor_targets, split_quads

# one straight line, x 20..50, y 10..30 (21 px tall, like the 23 px anchor)
LINE = np.array([[[20, 10], [50, 10], [50, 30], [20, 30]]], dtype=np.float64)
# in the three line cells of row 1 the 11, 16 and 33 px anchors have IoU 11/21, 15/22 and 21/33
IGNORED = 9


def test_split_quads_cuts_lines_on_the_16px_grid():
    strips, owner = split_quads(LINE)
    np.testing.assert_array_equal(strips, [[20, 10, 31, 30], [32, 10, 47, 30], [48, 10, 50, 30]])
    assert owner.tolist() == [0, 0, 0]


def test_split_quads_follows_a_slanted_edge():
    slanted = np.array([[[20, 10], [52, 14], [52, 34], [20, 30]]], dtype=np.float64)
    strips, _ = split_quads(slanted)
    np.testing.assert_allclose(strips, [[20, 10, 31, 31.375], [32, 11.5, 47, 33.375], [48, 13.5, 52, 34]])


def test_anchor_targets_label_the_line_cells_and_regress_to_them():
    t = anchor_targets(LINE, 4, 5, np.random.default_rng(0), batch_size=10**6)
    assert t.labels.shape == (4, 5, 10) and t.v_targets.shape == (4, 5, 10, 2)
    pos = np.argwhere(t.labels == 1)
    # the 23 px anchor (k=2) of feature row 1 (y 12.5..34.5) matches the line with IoU 18.5/25.5
    assert sorted(map(tuple, pos.tolist())) == [(1, 1, 2), (1, 2, 2), (1, 3, 2)]
    # dy = (20 - 23.5) / 23, dh = log(21 / 23)
    np.testing.assert_allclose(t.v_targets[1, 2, 2], [(20 - 23.5) / 23, np.log(21 / 23)], rtol=1e-6)
    assert t.v_mask.sum() == 3
    # side refinement: column 1 (centre 23.5) learns the left end 20, column 3 (55.5) the right end 50
    np.testing.assert_allclose(t.side_targets[1, 1, 2], (20 - 23.5) / 16)
    np.testing.assert_allclose(t.side_targets[1, 3, 2], (50 - 55.5) / 16)
    np.testing.assert_allclose(t.side_targets[1, 2, 2], (50 - 39.5) / 16)  # the nearer end is the right one
    assert t.side_mask.sum() == 3
    # anchors with 0.5 <= IoU < 0.7 are neither text nor background; the rest is background
    anchors = grid_anchors(4, 5).reshape(4, 5, 10, 4)
    assert (t.labels == -1).sum() == IGNORED
    assert (t.labels == 0).sum() == 200 - 3 - IGNORED
    ignored_cells = set(map(tuple, np.argwhere(t.labels == -1)[:, :2].tolist()))
    assert ignored_cells == {(1, 1), (1, 2), (1, 3)}
    assert anchors[1, 2, 2].tolist() == [32.0, 12.5, 47.0, 34.5]


def test_sampling_caps_count_and_positive_fraction():
    quads = np.array([[[16, 40], [216, 40], [216, 60], [16, 60]]], dtype=np.float64)
    t = anchor_targets(quads, 8, 20, np.random.default_rng(0), batch_size=20, pos_fraction=0.25)
    assert (t.labels == 1).sum() == 5
    assert (t.labels == 0).sum() == 15
    assert t.v_mask.sum() > 5  # unsampled positives still learn their vertical position


def test_lines_cut_by_a_crop_are_ignored_not_background():
    cut = np.array([[[20, -5], [50, -5], [50, 8], [20, 8]]], dtype=np.float64)
    rng = np.random.default_rng(0)
    t = anchor_targets(np.zeros((0, 4, 2)), 4, 5, rng, ignore_quads=cut, batch_size=10**6)
    assert (t.labels == 1).sum() == 0
    assert (t.labels[0, 1:4] == -1).any()
    assert (t.labels[2:] == 0).all()
