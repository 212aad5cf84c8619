import numpy as np
import pytest
from crnn.data import ReplayPool, Sample, collate, ctc_feasible, jitter_quad, load_shard, save_shard


def _sample(width: int, ids: list[int]) -> Sample:
    return Sample(np.full((32, width), width % 256, np.uint8), np.asarray(ids, np.int32))


def test_ctc_feasible_counts_a_blank_between_repeats():
    assert ctc_feasible(np.array([1, 2, 3]), 12)  # 3 steps for 3 labels
    assert not ctc_feasible(np.array([1, 1, 3]), 12)  # needs 4 steps
    assert ctc_feasible(np.array([1, 1, 3]), 13)


def test_jitter_moves_corners_by_at_most_the_stated_share_of_height():
    quad = np.array([[10, 20], [110, 20], [110, 60], [10, 60]], np.float32)
    rng = np.random.default_rng(3)
    for _ in range(50):
        d = jitter_quad(rng, quad, amount=0.1) - quad
        assert np.abs(d[:, 1]).max() <= 4.0 + 1e-4 and np.abs(d[:, 0]).max() <= 6.0 + 1e-4


def test_collate_pads_images_with_255_and_labels_with_0():
    images, widths, labels, lengths = collate([_sample(10, [5, 6]), _sample(21, [7])])
    assert images.shape == (2, 32, 24, 1) and images.dtype == np.uint8
    assert widths.tolist() == [10, 21] and lengths.tolist() == [2, 1]
    assert labels.tolist() == [[5, 6], [7, 0]]
    assert (images[0, :, 10:] == 255).all() and (images[0, :, :10] == 10).all()


def test_pool_prefers_fresh_samples_and_groups_by_width():
    pool = ReplayPool(capacity=100, rng=np.random.default_rng(0))
    fresh = [_sample(w, [1]) for w in (50, 10, 40, 20)]
    pool.add(fresh)
    batches = pool.batches(batch_size=2, groups=2, fresh=fresh)
    assert [[s.crop.shape[1] for s in b] for b in batches] == [[10, 20], [40, 50]]
    assert fresh == []


def test_a_column_bound_gives_batches_of_wide_lines_fewer_lines():
    pool = ReplayPool(capacity=100, rng=np.random.default_rng(0))
    fresh = [_sample(w, [1]) for w in (500, 100, 120, 480, 110, 300, 130, 510)]
    batches = pool.batches(batch_size=4, groups=2, fresh=fresh, max_columns=1000)
    widths = [[s.crop.shape[1] for s in b] for b in batches]
    assert widths == [[100, 110, 120, 130], [300, 480], [500], [510]]
    assert all(len(b) * max(w) <= 1000 for b, w in zip(batches, widths, strict=True))
    # without the bound: batch_size lines each, whatever their width
    fresh = [_sample(w, [1]) for w in (500, 100, 120, 480, 110, 300, 130, 510)]
    unbounded = pool.batches(batch_size=4, groups=2, fresh=fresh)
    assert [len(b) for b in unbounded] == [4, 4]


def test_shard_round_trip(tmp_path):
    samples = [_sample(10, [5, 6]), _sample(33, [7]), _sample(8, [1, 2, 3])]
    save_shard(tmp_path / "shard-1.npz", samples)
    back = load_shard(tmp_path / "shard-1.npz")
    assert [s.ids.tolist() for s in back] == [[5, 6], [7], [1, 2, 3]]
    assert all(np.array_equal(a.crop, b.crop) for a, b in zip(samples, back, strict=True))


def test_real_lines_are_cut_from_labelled_pages_with_fresh_jitter_each_draw(receipt_folder):
    from crnn.charset import load
    from crnn.data import RealLines

    cs = load()
    real = RealLines([receipt_folder], cs)
    assert len(real) == 2 and real.skipped == 1  # the line the charset cannot spell is left out
    rng = np.random.default_rng(0)
    samples = real.draw(rng, 40)
    texts = {cs.decode(s.ids) for s in samples}
    assert texts == {"TOTAL 12.50", "CASH"}  # runs of spaces collapsed, as in generated lines
    assert all(s.crop.shape[0] == 32 and s.crop.dtype == np.uint8 for s in samples)
    cash = [s.crop for s in samples if cs.decode(s.ids) == "CASH"]
    assert len({c.tobytes() for c in cash}) > 1  # not one fixed crop: each draw jitters the box
    assert all(c.min() < 60 and np.median(c) > 200 for c in cash)  # dark ink on stretched paper
    assert real.latin_texts() == ["TOTAL 12.50", "CASH"]  # what generated lines may draw recased


def test_real_count_keeps_the_asked_share_over_many_refills():
    from crnn.data import real_count

    rng = np.random.default_rng(1)
    added = sum(real_count(7, 0.3, rng) for _ in range(2000))
    assert added / (added + 7 * 2000) == pytest.approx(0.3, abs=0.01)
    assert real_count(10, 0.0, rng) == 0 and real_count(0, 0.5, rng) == 0


class Lines:
    """A text source for `make_sample`: an English line and a Chinese one, in turn."""

    def __init__(self):
        self.calls = 0

    def line(self, kind=None):
        self.calls += 1
        return "Thank you" if self.calls % 2 else "合计 Total"

    def paragraph_text(self, min_chars):
        return self.line()


def test_training_prints_some_latin_lines_in_capitals_and_never_a_line_with_hanzi():
    from crnn.charset import load
    from crnn.data import make_sample

    cs = load("gb2312_l1")
    rng, source = np.random.default_rng(5), Lines()
    samples = [make_sample(rng, cs, source=source) for _ in range(40)]
    texts = [cs.decode(s.ids) for s in samples if s is not None]
    assert {"THANK YOU", "Thank you"} <= set(texts)
    assert "合计 Total" in texts and "合计 TOTAL" not in texts
    samples = [make_sample(rng, cs, "eval", source=Lines()) for _ in range(10)]
    assert {cs.decode(s.ids) for s in samples if s is not None} == {"Thank you"}  # eval: never in capitals


def test_training_lines_put_a_full_stop_inside_a_line_as_wrapped_paragraphs_do():
    """A wrapped paragraph's line runs across sentence ends; single sentences end at the 。."""
    from crnn.charset import load
    from crnn.data import _pick_text
    from ocr_synth.content import TextSource

    def full_stops_inside(split):
        rng = np.random.default_rng(3)
        source, cs = TextSource(rng), load("gb2312_l1")
        texts = [_pick_text(rng, source, cs, 512, split) for _ in range(2000)]
        return sum(t[:-1].count("。") for t in texts), sum(t[:-1].count("，") for t in texts)

    stops, commas = full_stops_inside("train")
    assert stops >= 0.1 * commas, (stops, commas)
    stops, commas = full_stops_inside("eval")  # the evaluation split draws as before
    assert stops < 0.05 * commas, (stops, commas)


def test_a_real_line_is_cut_from_its_neighbourhood_exactly_as_from_its_whole_page(tmp_path):
    """RealLines keeps a line's surroundings, not its page (a 600 dpi scan is 35 Mpx): every
    jittered crop must be the one the whole page gives, at the page's edges too (a crop from
    another place would differ by the page's texture, 30 grey levels)."""
    import json

    import cv2
    from crnn.charset import load
    from crnn.data import RealLines
    from crnn.preprocess import crop_line

    page = np.full((1400, 1000), 230, np.uint8)
    page[::7, :] = 200  # texture, so that a crop from the wrong place would show
    boxes = {"MIDDLE 12.50": (300, 650), "EDGE": (0, 1360), "CORNER": (880, 0)}
    truth = []
    for text, (x, y) in boxes.items():
        cv2.putText(page, text, (x + 4, y + 32), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 20, 2)
        right = x + 30 * len(text)
        truth.append({"text": text, "box": [[x, y], [right, y], [right, y + 40], [x, y + 40]]})
    cv2.imwrite(str(tmp_path / "p.png"), page)
    (tmp_path / "truth.json").write_text(json.dumps({"p.png": truth}), encoding="utf-8")

    cs = load()
    real = RealLines([tmp_path], cs)
    assert len(real) == 3 and real.page_count == 1
    assert sum(region.size for region, _, _ in real.lines) < page.size / 10
    for (region, quad, ids), row in zip(real.lines, truth, strict=True):
        assert cs.decode(ids) == row["text"]
        offset = np.float32(row["box"][0]) - quad[0]
        for seed in range(5):
            jittered = jitter_quad(np.random.default_rng(seed), quad)
            got, want = crop_line(region, jittered), crop_line(page, jittered + offset)
            # the same pixels, up to the rounding of a warp from another origin (<= 2 grey levels)
            assert got.shape == want.shape and np.abs(got.astype(int) - want).max() <= 2, row["text"]


def test_mixed_case_training_lines_draw_each_letter_s_case_apart_and_leave_hanzi_lines_alone(monkeypatch):
    """Case is to be read from each glyph: mixed-case lines give a capital no say over its neighbours."""
    from crnn import charset, data

    monkeypatch.setattr(data, "CAPITALS_SHARE", 0.0)
    monkeypatch.setattr(data, "MIXED_CASE_SHARE", 1.0)
    cs = charset.load("gb2312_l1")
    rng, source = np.random.default_rng(7), Lines()
    texts = [cs.decode(s.ids) for s in (data.make_sample(rng, cs, source=source) for _ in range(40)) if s]
    latin = [t for t in texts if t.isascii()]
    assert len(latin) >= 10 and {t.lower() for t in latin} == {"thank you"}
    assert len(set(latin)) >= 8  # 2^8 case patterns: lines differ, not one fixed style
    firsts = {t[0] for t in latin}
    assert any(t[0] == "T" and t[1:].lower() != t[1:] and t[1:].upper() != t[1:] for t in latin), latin
    assert firsts == {"T", "t"}
    assert {t for t in texts if not t.isascii()} == {"合计 Total"}  # a line with hanzi keeps its case
    samples = [data.make_sample(rng, cs, "eval", source=Lines()) for _ in range(10)]
    assert {cs.decode(s.ids) for s in samples if s is not None} == {"Thank you"}  # eval: as written
    assert data.mix_case(np.random.default_rng(0), "12:30 - ok!").lower() == "12:30 - ok!"


def test_real_receipts_words_are_also_drawn_in_small_letters_and_title_case(monkeypatch):
    """A word the receipts print in capitals is also shown in other cases, so it is not learned as
    one: its case is read from the glyphs."""
    from crnn import charset, data

    monkeypatch.setattr(data, "RECASED_REAL_SHARE", 1.0)
    cs, rng = charset.load("gb2312_l1"), np.random.default_rng(11)
    texts = [data.make_sample(rng, cs, real_texts=("THANK YOU",)) for _ in range(40)]
    texts = [cs.decode(s.ids) for s in texts if s is not None]
    assert len(texts) >= 30 and {t.lower() for t in texts} == {"thank you"}
    assert {"thank you", "Thank you", "Thank You"} <= set(texts)
    assert len(set(texts)) >= 6  # the mixed-case ones as well
    monkeypatch.setattr(data, "RECASED_REAL_SHARE", 0.0)
    real = ("PLEASE COME AGAIN",)
    generated = [data.make_sample(rng, cs, real_texts=real, source=Lines()) for _ in range(10)]
    assert {cs.decode(s.ids).lower() for s in generated if s is not None} <= {"thank you", "合计 total"}
    monkeypatch.setattr(data, "RECASED_REAL_SHARE", 1.0)
    samples = [data.make_sample(rng, cs, "eval", real_texts=real, source=Lines()) for _ in range(10)]
    assert {cs.decode(s.ids) for s in samples if s is not None} == {"Thank you"}  # eval: never recased
