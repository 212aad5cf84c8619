import numpy as np
import pytest
from ocr_synth import fonts
from ocr_synth.content import CHARSET_HINT


def test_train_split_has_every_training_family_and_not_the_held_out_one():
    families = {s.family for s in fonts.discover("train")}
    assert set(fonts.TRAIN_CJK_FAMILIES) <= families
    assert set(fonts.LATIN_FAMILIES) <= families
    assert "WenQuanYi Zen Hei" not in families


def test_eval_split_uses_only_the_held_out_cjk_family():
    cjk = {s.family for s in fonts.discover("eval") if s.cjk}
    assert cjk == {"WenQuanYi Zen Hei"}
    assert set(fonts.LATIN_FAMILIES) <= {s.family for s in fonts.discover("eval")}


def test_collections_resolve_to_the_simplified_chinese_face():
    for spec in fonts.discover("train"):
        family, _ = fonts.load(spec, 20).getname()
        assert family == spec.family
        if spec.family.startswith("Noto"):
            assert spec.index == 2  # JP, KR, SC, ... in the Debian .ttc files


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


def test_every_cjk_font_draws_every_charset_character():
    """A missing glyph would draw a box (tofu) while the label says otherwise."""
    specs = {s for split in fonts.SPLITS for s in fonts.discover(split) if s.cjk}
    for spec in sorted(specs, key=lambda s: (s.family, s.bold)):
        font = fonts.load(spec, 16)
        notdef = _glyph(font, "\U0010fffd")
        missing = [ch for ch in CHARSET_HINT[1:] if _glyph(font, ch) == notdef]
        assert not missing, (spec.family, missing[:20])
    # the check can see a missing glyph at all: a Latin font lacks hanzi
    latin = next(s for s in fonts.discover("train") if s.family == "DejaVu Sans Mono")
    font = fonts.load(latin, 16)
    assert _glyph(font, "啊") == _glyph(font, "\U0010fffd")
    assert np.any(np.asarray(font.getmask("A")))
