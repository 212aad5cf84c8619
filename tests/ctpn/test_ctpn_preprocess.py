import numpy as np
import pytest
from ctpn.postprocess import reading_order
from ctpn.preprocess import prepare


@pytest.mark.parametrize(
    ("h", "w", "shape", "scale"),
    [
        (1000, 800, (1008, 800, 3), 1.0),
        (1000, 3200, (512, 1600, 3), 0.5),
        (32, 100, (64, 208, 3), 2.0),
        (300, 200, (304, 208, 3), 1.0),
    ],
)
def test_prepare_scale_policy_and_padding(h, w, shape, scale):
    img = np.zeros((h, w, 3), dtype=np.uint8)
    out, s = prepare(img)
    assert out.shape == shape and out.dtype == np.uint8
    assert s == scale
    nh, nw = round(h * s), round(w * s)
    assert (out[:nh, :nw] == 0).all()
    assert (out[nh:] == 255).all() and (out[:, nw:] == 255).all()


def box(x1, y1, x2, y2):
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float32)


def test_reading_order_rows_then_x():
    quads = [
        box(300, 52, 380, 70),  # row 2, right cell (slightly lower)
        box(10, 10, 200, 30),  # row 1
        box(10, 50, 100, 68),  # row 2, left cell
        box(150, 49, 250, 67),  # row 2, middle cell (slightly higher)
        box(10, 90, 200, 110),  # row 3
    ]
    assert reading_order(quads) == [1, 2, 3, 0, 4]
    assert reading_order([]) == []
