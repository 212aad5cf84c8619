import ctpn_bbox
import numpy as np
import pytest
from ctpn_bbox import reference


def random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    xy = rng.uniform(0, 200, (n, 2))
    wh = rng.uniform(1, 60, (n, 2))
    return np.hstack([xy, xy + wh])


def test_bbox_overlaps_exact_numbers():
    boxes = np.array([[0, 0, 9, 9], [5, 5, 14, 14], [20, 20, 29, 29]], dtype=np.float64)
    query = np.array([[0, 0, 9, 9], [0, 0, 4, 9]], dtype=np.float64)
    iou = ctpn_bbox.bbox_overlaps(boxes, query)
    # +1 convention: [0,0,9,9] is 10x10; [5,5,14,14] overlaps it in a 5x5 square
    expected = np.array([[1.0, 0.5], [25 / 175, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(iou, expected)


def test_bbox_overlaps_cython_matches_numpy_on_random_boxes():
    rng = np.random.default_rng(0)
    boxes, query = random_boxes(rng, 300), random_boxes(rng, 70)
    fast = ctpn_bbox.bbox_overlaps(boxes, query)
    assert fast.shape == (300, 70) and fast.dtype == np.float64
    np.testing.assert_allclose(fast, reference.bbox_overlaps(boxes, query), rtol=1e-12, atol=1e-12)
    assert (fast > 0).mean() > 0.05  # the random boxes do overlap


def test_nms_exact_greedy_order():
    dets = np.array(
        [
            [0, 0, 9, 9, 0.8],
            [1, 1, 10, 10, 0.9],  # IoU 81/119 = 0.68 with box 0
            [50, 50, 59, 59, 0.7],
            [0, 0, 4, 9, 0.95],  # IoU 0.5 with box 0, 40/110 with box 1
        ]
    )
    assert ctpn_bbox.nms(dets, 0.6).tolist() == [3, 1, 2]
    assert ctpn_bbox.nms(dets, 0.3).tolist() == [3, 2]
    assert reference.nms(dets, 0.6).tolist() == [3, 1, 2]


@pytest.mark.parametrize("thresh", [0.1, 0.3, 0.5, 0.7])
def test_nms_cython_matches_numpy_on_random_boxes(thresh):
    rng = np.random.default_rng(1)
    dets = np.hstack([random_boxes(rng, 400), rng.uniform(size=(400, 1))])
    fast = ctpn_bbox.nms(dets, thresh)
    assert fast.dtype == np.int64
    assert fast.tolist() == reference.nms(dets, thresh).tolist()
    assert 0 < len(fast) < 400


def test_nms_empty():
    assert ctpn_bbox.nms(np.zeros((0, 5)), 0.5).tolist() == []
