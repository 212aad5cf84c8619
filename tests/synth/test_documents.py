import itertools

import numpy as np
import pytest
from ocr_synth import documents
from ocr_synth.content import CHARSET_HINT


def _boxes(doc):
    return [
        (ln.quad[:, 0].min(), ln.quad[:, 1].min(), ln.quad[:, 0].max(), ln.quad[:, 1].max())
        for ln in doc.lines
    ]


def _docs(layout, n=4, size=(1000, 800)):
    return [
        documents.render_document(np.random.default_rng([seed, 99]), degrade=False, size=size, layout=layout)
        for seed in range(n)
    ]


def test_generate_is_byte_identical_for_the_same_seed():
    a = list(documents.generate(seed=3, count=3, split="train"))
    b = list(documents.generate(seed=3, count=3, split="train"))
    for x, y in zip(a, b, strict=True):
        assert x.layout == y.layout
        assert x.image.tobytes() == y.image.tobytes()
        assert [ln.text for ln in x.lines] == [ln.text for ln in y.lines]
        for lx, ly in zip(x.lines, y.lines, strict=True):
            np.testing.assert_array_equal(lx.quad, ly.quad)
    c = next(documents.generate(seed=4, count=1, split="train"))
    assert c.image.shape != a[0].image.shape or c.image.tobytes() != a[0].image.tobytes()


@pytest.mark.parametrize("layout", documents.LAYOUTS)
def test_lines_never_overlap_stay_on_the_page_and_are_12px_tall(layout):
    for doc in _docs(layout):
        assert doc.layout == layout and doc.image.shape == (800, 1000, 3)
        assert len(doc.lines) >= 5
        boxes = _boxes(doc)
        for a, b in itertools.combinations(boxes, 2):
            dx = max(a[0] - b[2], b[0] - a[2])
            dy = max(a[1] - b[3], b[1] - a[3])
            assert dx >= 30 or dy >= 4, (a, b)
        for box, ln in zip(boxes, doc.lines, strict=True):
            assert box[0] >= 0 and box[1] >= 0 and box[2] <= 1000 and box[3] <= 800
            assert box[3] - box[1] >= 12, ln.text
            assert set(ln.text) <= set(CHARSET_HINT) and 1 <= len(ln.text) <= 40


@pytest.mark.parametrize("layout", documents.LAYOUTS)
def test_nothing_dark_within_3px_around_a_line_and_the_quad_touches_its_ink(layout):
    """Rules and neighbours keep their distance; red stamp pixels are allowed to overlap."""
    for doc in _docs(layout, n=3):
        img = doc.image.astype(np.int32)
        grey = img.mean(axis=2)
        stamp = (img[..., 0] - img[..., 1]) > 50
        for ln in doc.lines:
            x0, y0, x1, y1 = (int(v) for v in (ln.quad[0, 0], ln.quad[0, 1], ln.quad[2, 0], ln.quad[2, 1]))
            paper = np.median(grey[y0 - 6 : y1 + 6, x0 - 6 : x1 + 6])  # receipts lie on a darker desk
            dark = paper - grey
            halo = np.zeros(dark.shape, bool)
            halo[y0 - 3 : y1 + 3, x0 - 3 : x1 + 3] = True
            halo[y0:y1, x0:x1] = False
            assert not np.any((dark > 40) & halo & ~stamp), ln.text
            ink = (dark[y0:y1, x0:x1] > 20) | stamp[y0:y1, x0:x1]
            assert ink[:2].any() and ink[-2:].any() and ink[:, :2].any() and ink[:, -2:].any(), ln.text


def test_table_cells_are_separate_lines_at_least_30px_apart():
    for doc in _docs("table", n=6):
        boxes = _boxes(doc)
        rows: dict[int, list] = {}
        for b in boxes:
            rows.setdefault(int(round((b[1] + b[3]) / 2 / 8)), []).append(b)
        multi = [r for r in rows.values() if len(r) >= 2]
        assert len(multi) >= 2  # header and at least one body row with several cells
        for row in multi:
            row.sort()
            for a, b in zip(row, row[1:], strict=False):
                assert b[0] - a[2] >= 30


def test_rotated_documents_keep_quads_on_the_ink(darkness, quad_mask):
    rotated = 0
    for seed in range(6):
        doc = documents.render_document(np.random.default_rng(seed), degrade=True, layout="paragraphs")
        dark = darkness(doc.image)
        inside = np.zeros(dark.shape, bool)
        for ln in doc.lines:
            inside |= quad_mask(dark.shape, ln.quad)
            assert (
                ln.quad.min() >= 0
                and ln.quad[:, 0].max() <= dark.shape[1]
                and ln.quad[:, 1].max() <= dark.shape[0]
            )
        rotated += any(abs(float(ln.quad[0, 1] - ln.quad[1, 1])) > 0.5 for ln in doc.lines)
        assert dark[inside].mean() > 5 * max(dark[~inside].mean(), 1.0)
    assert rotated >= 2  # the check did see rotated pages


def test_random_size_and_layout_ranges():
    for seed in range(10):
        doc = documents.render_document(np.random.default_rng(seed))
        h, w = doc.image.shape[:2]
        assert 640 <= w <= 1280 and 480 <= h <= 1280
        assert doc.layout in documents.LAYOUTS


def test_eval_split_renders():
    doc = next(documents.generate(seed=7, count=1, split="eval"))
    assert doc.lines


@pytest.mark.parametrize("size", [(640, 480), (1280, 1280)])
def test_every_layout_fills_the_smallest_and_largest_pages(size):
    for layout in documents.LAYOUTS:
        for seed in range(3):
            doc = documents.render_document(np.random.default_rng([seed, 5]), size=size, layout=layout)
            assert doc.image.shape == (size[1], size[0], 3)
            assert len(doc.lines) >= 5, (layout, seed)
