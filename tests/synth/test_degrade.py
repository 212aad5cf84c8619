import numpy as np
from ocr_synth import degrade


def test_rotation_maps_pixel_edge_corners_exactly():
    m = degrade.rotation_matrix(90, 11, 11)
    square = np.array([[0, 0], [11, 0], [11, 11], [0, 11]], np.float32)
    (moved,) = degrade.transform_quads([square], m)
    np.testing.assert_allclose(moved, [[0, 11], [0, 0], [11, 0], [11, 11]], atol=1e-4)


def test_rotate_by_90_matches_numpy_rot90_for_image_and_box():
    img = np.full((11, 11, 3), 255, np.uint8)
    img[1:4, 2:5] = 0  # rows 1..3, cols 2..4
    quad = np.array([[2, 1], [5, 1], [5, 4], [2, 4]], np.float32)
    out, (q,) = degrade.rotate(img, [quad], 90)
    np.testing.assert_array_equal(out, np.rot90(img))
    ys, xs = np.nonzero(out[..., 0] == 0)
    np.testing.assert_allclose(
        [q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()],
        [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1],
        atol=1e-4,
    )


def test_small_rotation_keeps_the_quad_on_the_ink():
    import cv2

    img = np.full((300, 500, 3), 255, np.uint8)
    img[100:140, 60:440] = 0
    quad = np.array([[60, 100], [440, 100], [440, 140], [60, 140]], np.float32)
    out, (q,) = degrade.rotate(img, [quad], 2.0)
    inside = np.zeros(out.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(q - 0.5).astype(np.int32)], 1)
    dark = out[..., 0] < 128
    assert dark[inside == 1].mean() > 0.97
    assert dark[inside == 0].mean() < 0.002
    assert abs(float(q[1, 1] - q[0, 1])) > 10  # it did rotate: right end moved 380 * sin 2deg = 13 px


def test_shade_tints_white_and_keeps_black():
    img = np.zeros((2, 2, 3), np.uint8)
    img[0, 0] = 255
    out = degrade.shade(img, np.array([1.0, 0.9, 0.8]))
    np.testing.assert_array_equal(out[0, 0], [255, 229, 204])
    np.testing.assert_array_equal(out[1, 1], [0, 0, 0])


def test_light_gradient_runs_from_low_to_high():
    img = np.full((4, 101, 3), 200, np.uint8)
    out = degrade.shade(img, np.ones(3), (0.0, 0.5, 1.0))  # left to right
    assert out[0, 0, 0] == 100 and out[0, -1, 0] == 200


def test_apply_is_reproducible_and_keeps_shape():
    img = np.full((120, 200, 3), 240, np.uint8)
    img[40:80, 20:180] = 20
    quad = np.array([[20, 40], [180, 40], [180, 80], [20, 80]], np.float32)
    for seed in range(8):
        a, qa = degrade.apply(np.random.default_rng(seed), img, [quad])
        b, qb = degrade.apply(np.random.default_rng(seed), img, [quad])
        assert a.shape == img.shape and a.dtype == np.uint8
        assert a.tobytes() == b.tobytes()
        np.testing.assert_array_equal(qa[0], qb[0])


def test_jpeg_keeps_colours_in_rgb_order():
    img = np.zeros((32, 32, 3), np.uint8)
    img[..., 0] = 200  # red
    out = degrade.jpeg(img, 90)
    assert out[..., 0].mean() > 180 and out[..., 2].mean() < 20
