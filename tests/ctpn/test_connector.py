import numpy as np
from ctpn.connector import build_graph, connect, group_proposals


def strip_boxes(x1s, y1, y2, slope=0.0):
    return np.array([[x, y1 + slope * x, x + 15, y2 + slope * x] for x in x1s], dtype=np.float64)


def test_two_lines_and_a_gap_over_50px_give_three_lines():
    a = strip_boxes([0, 16, 32, 48], 10, 30)
    b = strip_boxes([112, 128], 10, 30)  # x1 gap 112 - 48 = 64 > 50: a separate line
    c = strip_boxes([0, 16, 32], 100, 120)  # another row
    boxes = np.vstack([a, b, c])
    scores = np.full(len(boxes), 0.95)
    quads, line_scores = connect(boxes, scores)
    got = sorted((q.tolist() for q in quads), key=lambda q: (q[0][1], q[0][0]))
    assert got == [
        [[0, 10], [63, 10], [63, 30], [0, 30]],
        [[112, 10], [143, 10], [143, 30], [112, 30]],
        [[0, 100], [47, 100], [47, 120], [0, 120]],
    ]
    np.testing.assert_allclose(line_scores, 0.95)


def test_links_need_vertical_overlap_and_similar_height():
    boxes = np.vstack(
        [
            strip_boxes([0], 10, 30),
            strip_boxes([16], 20, 40),  # overlap 11/21 < 0.7
            strip_boxes([32], 20, 40),
            strip_boxes([48], 15, 50),  # height 36 vs 21: similarity 0.58 < 0.7
        ]
    )
    groups = group_proposals(build_graph(boxes, np.full(4, 0.95)))
    assert sorted(groups) == [[0], [1, 2], [3]]


def test_best_successor_must_be_mutual():
    boxes = np.vstack([strip_boxes([0], 10, 30), strip_boxes([0], 12, 32), strip_boxes([16], 11, 31)])
    graph = build_graph(boxes, np.array([0.8, 0.9, 0.95]))
    # both 0 and 1 want 2; only the better-scored precursor (1) keeps the link
    assert graph.tolist() == [[False, False, False], [False, False, True], [False, False, False]]


def test_slanted_line_gives_a_non_rectangular_quad():
    boxes = strip_boxes([0, 16, 32, 48], 200, 220, slope=0.125)
    quads, _ = connect(boxes, np.full(4, 0.95))
    assert len(quads) == 1
    # common slope 0.125; top shifted to enclose the boxes' top-left... top-right corners
    np.testing.assert_allclose(quads[0], [[0, 198.125], [63, 206.0], [63, 227.875], [0, 220.0]])


def test_side_refinement_moves_the_ends_within_24px():
    boxes = strip_boxes([0, 16, 32, 48], 10, 30)
    sides = np.array([5.0, 0.0, 0.0, 100.0])  # left end at x=5; the right end is clipped to 63 + 24
    quads, _ = connect(boxes, np.full(4, 0.95), sides)
    np.testing.assert_allclose(quads[0][:, 0], [5, 87, 87, 5])


def test_single_proposal_lines_need_a_confident_score():
    boxes = np.vstack([strip_boxes([0], 10, 30), strip_boxes([200], 10, 30)])
    quads, _ = connect(boxes, np.array([0.95, 0.8]))
    assert [q[0].tolist() for q in quads] == [[0, 10]]
