import numpy as np
from ctpn.anchors import grid_anchors
from ctpn.proposals import clip_boxes, decode, text_proposals


def test_decode_ctpn_vertical_parametrisation():
    anchors = np.array([[16.0, 12.5, 31.0, 34.5]])  # 23 px tall, centre y 23.5
    boxes = decode(anchors, np.array([[0.5, np.log(2.0)]]))
    # centre 23.5 + 0.5 * 23 = 35, height 46 -> y 12.5 .. 57.5; x stays the anchor's
    np.testing.assert_allclose(boxes, [[16.0, 12.5, 31.0, 57.5]])


def test_decode_inverts_the_targets_of_anchor_targets():
    from ctpn.targets import anchor_targets

    line = np.array([[[20, 10], [50, 10], [50, 30], [20, 30]]], dtype=np.float64)
    t = anchor_targets(line, 4, 5, np.random.default_rng(0), batch_size=10**6)
    pos = t.v_mask.reshape(-1) > 0
    boxes = decode(grid_anchors(4, 5)[pos], t.v_targets.reshape(-1, 2)[pos].astype(np.float64))
    np.testing.assert_allclose(boxes[:, [1, 3]], [[10, 30]] * 3, atol=1e-5)


def test_clip_boxes():
    out = clip_boxes(np.array([[-5.0, -3.0, 40.0, 70.0]]), height=64, width=32)
    np.testing.assert_array_equal(out, [[0, 0, 31, 63]])


def test_text_proposals_threshold_and_nms():
    cls = np.zeros((2, 3, 10), dtype=np.float32)
    v = np.zeros((2, 3, 10, 2), dtype=np.float32)
    side = np.zeros((2, 3, 10), dtype=np.float32)
    cls[1, 2, 2] = 0.95  # 23 px anchor of cell (1, 2)
    cls[1, 2, 3] = 0.9  # 33 px anchor of the same cell: IoU 23/33 > 0.3, suppressed
    cls[0, 0, 0] = 0.6  # under the score threshold
    side[1, 2, 2] = -0.5
    p = text_proposals(cls, v, side, height=32, width=48)
    np.testing.assert_allclose(p.boxes, [[32.0, 12.5, 47.0, 31.0]])  # clipped to the image bottom
    np.testing.assert_allclose(p.scores, [0.95], rtol=1e-6)
    np.testing.assert_allclose(p.sides, [39.5 - 8.0])
