import numpy as np
import pytest
from ocr_synth import fonts, lines, render
from ocr_synth.content import CHARSET_HINT


def test_same_seed_gives_identical_bytes():
    for seed in range(5):
        a = lines.render_line(np.random.default_rng(seed))
        b = lines.render_line(np.random.default_rng(seed))
        assert a.text == b.text
        assert a.image.tobytes() == b.image.tobytes()
        np.testing.assert_array_equal(a.quad, b.quad)


@pytest.mark.parametrize("reshape", [False, True])
def test_undegraded_quad_is_tight_around_the_ink_with_4_to_24_px_margins(darkness, quad_mask, reshape):
    for seed in range(40):
        s = lines.render_line(np.random.default_rng(seed), degrade=False, reshape=reshape)
        h, w = s.image.shape[:2]
        x0, y0 = s.quad[0]
        x1, y1 = s.quad[2]
        np.testing.assert_array_equal(s.quad, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        assert 4 <= x0 <= 24 and 4 <= y0 <= 24 and 4 <= w - x1 <= 24 and 4 <= h - y1 <= 24
        dark = darkness(s.image)
        inside = quad_mask((h, w), s.quad)
        assert dark[~inside].max() < 25, s.text  # paper grain only outside
        ys, xs = np.nonzero(dark > 25)  # visible ink touches every side within 2 px
        assert xs.min() - x0 <= 2 and x1 - 1 - xs.max() <= 2, s.text
        assert ys.min() - y0 <= 2 and y1 - 1 - ys.max() <= 2, s.text


def test_rotated_quads_stay_on_the_ink(darkness, quad_mask):
    for seed in range(30):
        s = lines.render_line(np.random.default_rng(seed), degrade=True, stamps=False)  # seals are dark too
        h, w = s.image.shape[:2]
        assert s.quad[:, 0].min() >= 0 and s.quad[:, 1].min() >= 0
        assert s.quad[:, 0].max() <= w and s.quad[:, 1].max() <= h
        dark = darkness(s.image)
        inside = quad_mask((h, w), s.quad)
        # a quad off the ink is about as dark as its surroundings; a light weight's thin strokes,
        # faded, at body-text size beside a printed rule are 2.4x (seed 2)
        assert dark[inside].mean() > 2 * max(dark[~inside].mean(), 1.0), (seed, s.text)


def test_given_text_is_drawn_and_long_lines_fit_1200_px():
    text = "中华人民共和国增值税普通发票" * 3
    s = lines.render_line(np.random.default_rng(0), text=text[:40], degrade=False)
    assert s.text == text[:40]
    assert s.image.shape[1] <= 1200
    for seed in range(20):
        assert lines.render_line(np.random.default_rng(seed)).image.shape[1] <= 1200


def test_generated_texts_use_the_charset_and_eval_split_renders():
    allowed = set(CHARSET_HINT)
    for seed in range(20):
        s = lines.render_line(np.random.default_rng(seed), split="eval")
        assert set(s.text) <= allowed and 1 <= len(s.text) <= 40
        assert s.image.dtype == np.uint8 and s.image.ndim == 3 and s.image.shape[2] == 3
        assert s.quad.dtype == np.float32 and s.quad.shape == (4, 2)


def _train_face(family: str) -> fonts.FontSpec:
    return next(s for s in fonts.discover("train") if s.family == family and not s.bold)


def _row_runs(mask: np.ndarray) -> int:
    """How many separate bands of rows hold ink (三 has three)."""
    rows = (mask > 0).any(axis=1).astype(np.int8)
    return int(np.sum(np.diff(np.concatenate([[0], rows])) == 1))


def test_restyled_ink_is_wider_or_narrower_and_bolder_or_thinner_at_the_same_height():
    m = render.ink_mask("将费写小已 Latte", _train_face("Noto Serif CJK SC"), 32)
    for scale in (0.8, 1.25):
        r = render.restyle_ink(m, scale, 0)
        assert abs(r.width - m.width * scale) <= 2
        assert m.height - 2 <= r.height <= m.height
    ink = int(m.mask.astype(np.int64).sum())
    thin = int(render.restyle_ink(m, 1.0, -1).mask.astype(np.int64).sum())
    bold = int(render.restyle_ink(m, 1.0, 1).mask.astype(np.int64).sum())
    assert thin < 0.85 * ink and bold > 1.15 * ink, (thin, ink, bold)


def test_thinned_ink_keeps_a_mings_hairlines_at_the_smallest_reshaped_height():
    m = render.ink_mask("三", _train_face("AR PL UMing CN"), 17)
    assert m.height >= render.RESHAPE_WEIGHT_MIN_HEIGHT
    assert _row_runs(render.restyle_ink(m, 0.8, -1).mask) == _row_runs(m.mask) == 3


def test_training_lines_are_drawn_at_body_text_sizes_as_often_as_the_share_says(monkeypatch):
    """Every training line at the sizes of a page's body text when the share is 1; the eval split
    keeps the whole range (its line sets stay as they were)."""
    monkeypatch.setattr(lines, "BODY_SIZE_SHARE", 1.0)
    top = lines.BODY_SIZE_RANGE[1]

    def heights(split: str) -> list[float]:
        rngs = (np.random.default_rng(seed) for seed in range(30))
        samples = (lines.render_line(rng, split=split, degrade=False) for rng in rngs)
        return [float(s.quad[:, 1].max() - s.quad[:, 1].min()) for s in samples]

    # ink no taller than its font size, with 2 px for a +-2 degree turn
    assert max(heights("train")) <= top + 2
    assert max(heights("eval")) > top + 2


def test_the_sparse_mings_draw_their_share_of_training_lines_on_hanzi_they_have(monkeypatch):
    """cwTeX Ming and FangSong lack a third of the level-1 hanzi: at a share of 1 every training
    line is drawn in one of them, on a text with hanzi that it covers; the eval split never."""
    monkeypatch.setattr(lines, "SPARSE_SHARE", 1.0)
    drawn = []
    ink_mask = render.ink_mask
    monkeypatch.setattr(
        render, "ink_mask", lambda text, spec, size: drawn.append((spec, text)) or ink_mask(text, spec, size)
    )
    for seed in range(12):
        sample = lines.render_line(np.random.default_rng(seed), split="train", degrade=False)
        spec, text = drawn[-1]
        assert spec.family in fonts.TRAIN_CJK_SPARSE
        assert " ".join(text.split()) == sample.text and not render.is_ascii(text)
        assert fonts.covers(spec, text)
    drawn.clear()
    for seed in range(12):
        lines.render_line(np.random.default_rng(seed), split="eval", degrade=False)
    assert not {spec.family for spec, _ in drawn} & set(fonts.TRAIN_CJK_SPARSE)
