import numpy as np
import pytest
from ctpn.metrics import detection_prf, quad_iou


def box(x1, y1, x2, y2):
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float32)


def test_quad_iou_exact():
    assert quad_iou(box(0, 0, 10, 10), box(5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert quad_iou(box(0, 0, 10, 10), box(0, 0, 10, 10)) == 1.0
    assert quad_iou(box(0, 0, 10, 10), box(20, 0, 30, 10)) == 0.0


def test_detection_prf_one_to_one_greedy():
    gt = [box(0, 0, 100, 20), box(0, 40, 100, 60)]
    pred = [
        box(0, 0, 100, 20),  # exact: tp
        box(2, 0, 100, 20),  # IoU 0.98 with the same gt, which is taken: fp
        box(50, 40, 150, 60),  # IoU 50/150 < 0.5: fp, and gt 2 is missed
    ]
    m = detection_prf(pred, gt)
    assert (m["tp"], m["fp"], m["fn"]) == (1, 2, 1)
    assert m["precision"] == pytest.approx(1 / 3)
    assert m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(0.4)


def test_detection_prf_rotated_quads_and_threshold():
    gt = [np.array([[0, 0], [100, 4], [100, 24], [0, 20]], dtype=np.float32)]
    m = detection_prf([box(0, 2, 100, 22)], gt, iou_threshold=0.7)
    assert m["tp"] == 1 and m["f1"] == 1.0
    assert detection_prf([box(0, 2, 100, 22)], gt, iou_threshold=0.95)["tp"] == 0


def test_detection_prf_empty():
    assert detection_prf([], [])["f1"] == 1.0
    assert detection_prf([], [box(0, 0, 1, 1)])["recall"] == 0.0
