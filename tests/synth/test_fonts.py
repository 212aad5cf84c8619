import numpy as np
import pytest
from ocr_synth import fonts, render
from ocr_synth.content import ASCII_PRINTABLE, CHARSET_HINT, HANZI_LEVEL1


def test_train_split_has_every_training_family_and_not_the_held_out_one():
    families = {s.family for s in fonts.discover("train")}
    assert set(fonts.TRAIN_CJK_FAMILIES) <= families
    assert set(fonts.LATIN_FAMILIES) <= families
    assert set(fonts.TRAIN_LATIN_EXTRA) <= families
    assert "WenQuanYi Zen Hei" not in families


def test_training_latin_families_cover_printable_ascii_in_regular_and_bold_or_light_weights():
    """30 Latin designs (serif, sans, humanist sans, mono, condensed): each can set any ASCII line."""
    latin = [s for s in fonts.discover("train") if not s.cjk]
    assert len({s.family for s in latin}) == len(fonts.LATIN_FAMILIES) + len(fonts.TRAIN_LATIN_EXTRA)
    assert all(fonts.covers(s, ASCII_PRINTABLE) for s in latin)
    assert sum(s.bold for s in latin) >= 20  # bold faces too, not only regular ones


def test_eval_split_uses_only_the_held_out_cjk_family():
    cjk = {s.family for s in fonts.discover("eval") if s.cjk}
    assert cjk == {"WenQuanYi Zen Hei"}
    latin = {s.family for s in fonts.discover("eval") if not s.cjk}
    assert latin == set(fonts.LATIN_FAMILIES)  # the extra training families leave it unchanged


def test_heldout_split_shares_no_family_with_training():
    """Held-out typefaces (a Hei, a Ming/Song, a Latin sans): figures on them measure reading."""
    heldout = {s.family for s in fonts.discover("heldout")}
    assert heldout == {"WenQuanYi Zen Hei", "TW-Sung", "Lato"}
    assert not heldout & {s.family for s in fonts.discover("train")}
    for spec in fonts.discover("heldout"):  # pages never fall back to another family
        assert fonts.covers(spec, CHARSET_HINT if spec.cjk else ASCII_PRINTABLE), spec.family


def test_collections_resolve_to_the_face_of_each_region():
    for spec in fonts.discover("train"):
        family, _ = fonts.load(spec, 20).getname()
        assert family == spec.family
        if spec.family.startswith("Noto"):
            # JP, KR, SC, TC, HK in Debian's .ttc
            assert spec.index == {"JP": 0, "KR": 1, "SC": 2, "TC": 3, "HK": 4}[spec.family[-2:]]


def test_an_oblique_face_is_drawn_only_for_a_family_that_has_no_other():
    """Smiley Sans has one face, oblique: it trains. DejaVu Sans has an oblique beside its Book
    face: the oblique stays out (the eval split's pages must not change)."""
    styles = {s.family: fonts.load(s, 20).getname()[1] for s in fonts.discover("train") if not s.bold}
    assert styles["Smiley Sans"] == "Oblique"
    assert styles["DejaVu Sans"] == "Book"
    slanted = [f for f, style in styles.items() if "Oblique" in style or "Italic" in style]
    assert slanted == ["Smiley Sans"]


def test_noto_trains_in_a_lighter_weight_beside_its_regular_and_bold_faces():
    """fonts-noto-cjk-extra's ExtraLight, Light, Medium and other files sort before Noto's Regular
    one: the usual face stays Regular, the lighter one is a face of its own (Light; ExtraLight for
    the JP, KR and HK Mings), and no other split draws it."""
    noto = {}
    for spec in fonts.discover("train"):
        if spec.family in fonts.TRAIN_CJK_WEIGHTS:
            noto.setdefault(spec.family, []).append(
                (spec.bold, spec.weight, fonts.load(spec, 20).getname()[1])
            )
    assert noto == {
        family: [(False, "", "Regular"), (False, weight, weight), (True, "", "Bold")]
        for family, (weight, _) in fonts.TRAIN_CJK_WEIGHTS.items()
    }
    for split in ("eval", "heldout"):
        assert not [s for s in fonts.discover(split) if s.weight]


def test_a_missing_weight_names_its_debian_package(monkeypatch):
    without_light = tuple(face for face in fonts._all_faces() if face[3] != "Light" or "Noto" not in face[2])
    monkeypatch.setattr(fonts, "_all_faces", lambda: without_light)
    fonts._discover.cache_clear()
    try:
        with pytest.raises(
            RuntimeError, match=r"Noto Sans CJK SC Light.*apt-get install fonts-noto-cjk-extra"
        ):
            fonts.discover("train")
        assert fonts.discover("heldout")  # the other splits do not need it
    finally:
        fonts._discover.cache_clear()


def test_unknown_split_is_rejected():
    with pytest.raises(ValueError):
        fonts.discover("test")


def test_missing_family_names_the_debian_package(monkeypatch):
    monkeypatch.setattr(fonts, "_all_faces", lambda: ())
    fonts._discover.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="fonts-wqy-zenhei"):
            fonts.discover("eval")
    finally:
        fonts._discover.cache_clear()


def _glyph(font, ch):
    m = font.getmask(ch)
    return m.size, bytes(m)


def _draws(spec, ch: str) -> bool:
    """What FreeType really draws: anything but the font's missing-glyph box."""
    font = fonts.load(spec, 16)
    return _glyph(font, ch) != _glyph(font, "\U0010fffd")


def test_coverage_agrees_with_what_the_font_draws():
    """`covers` reads the font's character map; here each answer is checked against a drawing."""
    specs = {s for split in fonts.SPLITS for s in fonts.discover(split) if not s.bold}
    probe = "A0-.,:¥。，：啊鬼" + CHARSET_HINT[100:3873:97]
    for spec in sorted(specs, key=lambda s: s.family):
        for ch in probe:
            assert fonts.covers(spec, ch) == _draws(spec, ch), (spec.family, ch)
    droid = next(s for s in fonts.discover("train") if s.family == "Droid Sans Fallback")
    assert fonts.covers(droid, "完成交货。") and not fonts.covers(droid, "SN-0766")
    assert fonts.covers(droid, "完成 交货")  # spaces need no glyph


def test_every_cjk_family_has_every_level_1_hanzi_and_the_common_punctuation():
    """Whatever else a family lacks, it can draw any line of hanzi and ，。：；！？（）《》、 (the
    sparse Mings aside: they are what the next test is about)."""
    for spec in (s for split in fonts.SPLITS for s in fonts.discover(split) if s.cjk):
        if spec.family not in fonts.TRAIN_CJK_SPARSE:
            assert fonts.covers(spec, HANZI_LEVEL1 + "，。：；！？（）《》、"), spec.family


def test_the_sparse_mings_train_only_and_lack_part_of_the_level_1_hanzi():
    sparse = fonts.sparse("train")
    assert {s.family for s in sparse} == set(fonts.TRAIN_CJK_SPARSE)
    for spec in sparse:
        missing = [c for c in HANZI_LEVEL1 if not fonts.covers(spec, c)]
        assert 1000 < len(missing) < 1300, (spec.family, len(missing))  # 1171 and 1203 in Debian 12
        assert fonts.covers(spec, ASCII_PRINTABLE + "已")
        assert not fonts.covers(spec, "写")  # simplified: the traditional face has 寫
    for split in ("eval", "heldout"):
        assert not fonts.sparse(split)


def test_the_held_out_font_and_some_training_fonts_print_everything_content_emits():
    """Pages are set in one CJK family, chosen among these; the eval split never falls back."""
    assert all(fonts.covers(s, CHARSET_HINT) for s in fonts.discover("eval") if s.cjk)
    whole = {s.family for s in fonts.discover("train") if s.cjk and fonts.covers(s, CHARSET_HINT)}
    assert {"Noto Sans CJK SC", "WenQuanYi Micro Hei", "LXGW WenKai"} <= whole
    assert "Droid Sans Fallback" not in whole  # no ASCII


def test_a_line_is_only_drawn_in_a_font_that_has_all_its_glyphs():
    rng = np.random.default_rng(3)
    droid = next(s for s in fonts.discover("train") if s.family == "Droid Sans Fallback")
    picked = {render.pick_font(rng, "train", "金额：¥1280.00").family for _ in range(200)}
    assert picked.isdisjoint({"Droid Sans Fallback", "AR PL SungtiL GB", "AR PL KaitiM GB"})
    picked_cjk_only = {render.pick_font(rng, "train", "完成交货").family for _ in range(300)}
    assert droid.family in picked_cjk_only and "AR PL KaitiM GB" in picked_cjk_only
