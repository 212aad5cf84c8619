import numpy as np
from crnn.preprocess import batch_crops, crop_line, stretch_contrast, width_groups


def _boxed_image():
    """White 200x400 image with a black 40x200 rectangle at x 100..299, y 80..119."""
    img = np.full((200, 400, 3), 255, np.uint8)
    img[80:120, 100:300] = 0
    return img


def test_axis_aligned_quad_maps_the_line_to_height_32_with_padding():
    quad = np.array([[100, 80], [300, 80], [300, 120], [100, 120]], np.float32)
    crop = crop_line(_boxed_image(), quad, height=32, pad_ratio=0.1)
    # line height 40 + 2*4 pad -> 48 px source rows -> scale 2/3; width (200 + 8) * 2/3 = 138.67
    assert crop.shape == (32, 139)
    assert crop.dtype == np.uint8
    # pad is 4 px * 2/3 = 2.67 px of white on every side, ink inside
    assert (crop[:, :2] == 255).all() and (crop[:, -2:] == 255).all()
    assert (crop[:2] == 255).all() and (crop[-2:] == 255).all()
    assert (crop[4:28, 4:135] == 0).all()


def test_rotated_quad_is_rectified():
    img = np.full((300, 300), 255, np.uint8)
    centre = np.array([150.0, 150.0])
    ang = np.deg2rad(20)
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    rect = np.array([[-80, -16], [80, -16], [80, 16], [-80, 16]], np.float64)
    quad = rect @ rot.T + centre
    import cv2

    cv2.fillPoly(img, [np.round(quad).astype(np.int32)], 0)
    crop = crop_line(img, quad, height=32, pad_ratio=0.0)
    assert crop.shape == (32, 160)
    assert crop[3:-3, 3:-3].mean() < 5  # the rotated bar fills the strip


def test_crop_is_deterministic_and_accepts_gray():
    img = _boxed_image()
    quad = np.array([[90.5, 70.2], [310, 75], [305, 130], [95, 125]], np.float32)
    a = crop_line(img, quad)
    b = crop_line(img[:, :, 0], quad)
    assert np.array_equal(a, crop_line(img, quad))
    assert np.array_equal(a, b)


def test_large_text_is_downscaled_without_losing_the_line():
    img = np.full((1000, 2000), 255, np.uint8)
    img[300:700, 200:1800] = 0
    crop = crop_line(img, np.array([[200, 300], [1800, 300], [1800, 700], [200, 700]]), pad_ratio=0.1)
    assert crop.shape == (32, int(round((1600 + 80) * 32 / 480)))
    assert (crop[4:28, 4:-4] == 0).all()


def test_batch_crops_pads_right_with_255_past_the_widest_crop_to_multiple_of_8():
    crops = [np.zeros((32, 10), np.uint8), np.full((32, 17), 7, np.uint8)]
    images, widths = batch_crops(crops)
    assert images.shape == (2, 32, 40, 1) and images.dtype == np.uint8  # 17 + 16 white, up to 40
    assert widths.tolist() == [10, 17] and widths.dtype == np.int32
    assert (images[0, :, :10] == 0).all() and (images[0, :, 10:] == 255).all()
    assert (images[1, :, :17] == 7).all() and (images[1, :, 17:] == 255).all()


def test_batch_crops_resizes_overlong_crops_down_to_max_width():
    images, widths = batch_crops([np.zeros((32, 3000), np.uint8)], max_width=1600)
    assert images.shape == (1, 32, 1616, 1)  # 1600 + the 16 px white margin
    assert widths.tolist() == [1600]


def test_a_grey_low_contrast_line_is_stretched_to_black_on_white():
    img = np.full((200, 400), 170, np.uint8)  # grey, unevenly lit paper
    img[:, 200:] = 150
    img[90:110, 100:300:6] = 110  # faint strokes
    quad = np.array([[100, 85], [300, 85], [300, 115], [100, 115]], np.float32)
    raw = crop_line(img, quad, stretch=False)
    crop = crop_line(img, quad)
    assert raw.min() >= 110 and raw.max() <= 170
    assert crop.min() == 0 and crop.max() == 255
    assert np.percentile(crop, 95) == 255  # the paper is white
    assert np.array_equal(crop, stretch_contrast(raw))


def test_a_crop_without_contrast_is_left_as_it_is():
    blank = np.full((32, 100), 180, np.uint8)
    blank[:, 50:] = 190
    assert np.array_equal(stretch_contrast(blank), blank)


def _check_partition(groups: list[list[int]], widths: list[int], max_batch: int) -> None:
    assert sorted(i for g in groups for i in g) == list(range(len(widths)))  # every crop once
    assert all(0 < len(g) <= max_batch for g in groups)
    edges = [(min(widths[i] for i in g), max(widths[i] for i in g)) for g in groups]
    # no overlap: each group's widest is no wider than the next group's narrowest
    assert all(high <= next_low for (_, high), (next_low, _) in zip(edges, edges[1:], strict=False))


def test_lines_of_similar_width_share_one_call():
    widths = [100 + i for i in range(40)]
    groups = width_groups(widths, max_batch=64)
    assert groups == [sorted(range(40), key=lambda i: widths[i])]
    assert width_groups([], max_batch=64) == []


def test_a_receipts_few_wide_lines_do_not_pad_its_many_short_ones():
    # 50 short lines (prices, items) and three full-width ones, as on a receipt: in one call every
    # short line would be padded to 900 columns.
    widths = [80 + (7 * i) % 60 for i in range(50)] + [900, 880, 910]
    groups = width_groups(widths, max_batch=64)
    _check_partition(groups, widths, 64)
    wide = {50, 51, 52}
    assert any(set(g) == wide for g in groups)
    padded = sum(len(g) * max(widths[i] for i in g) for g in groups)
    assert padded < 0.3 * len(widths) * max(widths)


def test_groups_keep_to_the_batch_bound():
    rng = np.random.default_rng(3)
    widths = rng.integers(20, 2000, size=300).tolist()
    groups = width_groups(widths, max_batch=16)
    _check_partition(groups, [min(w, 1600) for w in widths], 16)
