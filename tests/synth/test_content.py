import numpy as np
import pytest
from ocr_synth import content, vocab
from ocr_synth.content import CHARSET_HINT, HANZI_LEVEL1, TextSource, amount_in_words


def test_charset_is_ascii_punct_and_the_3755_level1_hanzi():
    assert len(HANZI_LEVEL1) == 3755
    assert HANZI_LEVEL1[0] == "啊" and HANZI_LEVEL1[-1] == "座"
    assert len(set(CHARSET_HINT)) == len(CHARSET_HINT) == 95 + 23 + 3755
    for ch in "，。：；！？（）《》、“”‘’【】—…·￥¥％":
        assert ch in CHARSET_HINT
    assert "圳" not in CHARSET_HINT  # level 2


def test_every_vocabulary_word_is_inside_the_charset():
    allowed = set(CHARSET_HINT)
    for name in (n for n in dir(vocab) if n.isupper()):
        words = getattr(vocab, name)
        if isinstance(words, dict):
            words = tuple(words) + tuple(words.values())
        if isinstance(words, tuple):
            bad = {ch for w in words for ch in w if ch not in allowed and ch not in "{}_"}
            assert not bad, f"vocab.{name} uses {sorted(bad)}"


@pytest.mark.parametrize("kind", content.KINDS)
def test_every_kind_emits_only_charset_characters_and_1_to_40_chars(kind):
    allowed = set(CHARSET_HINT)
    ts = TextSource(np.random.default_rng(11))
    for _ in range(300):
        line = ts.line(kind)
        assert set(line) <= allowed, (kind, line)
        assert 1 <= len(line) <= 40
        assert line == " ".join(line.split())  # no leading, trailing or doubled spaces


def test_random_lines_are_reproducible_from_the_seed():
    a = [TextSource(np.random.default_rng(5)).line() for _ in range(3)]
    ts1, ts2 = TextSource(np.random.default_rng(5)), TextSource(np.random.default_rng(5))
    assert [ts1.line() for _ in range(50)] == [ts2.line() for _ in range(50)]
    assert a[0] == a[1] == a[2]


def test_paragraphs_and_random_chars_reach_most_level1_hanzi():
    ts = TextSource(np.random.default_rng(0))
    seen = set()
    for _ in range(3000):
        seen |= set(ts.line("paragraph")) | set(ts.line("random_chars"))
    coverage = len(seen & set(HANZI_LEVEL1)) / len(HANZI_LEVEL1)
    assert coverage > 0.95


def test_kinds_look_like_their_name():
    ts = TextSource(np.random.default_rng(3))
    for _ in range(50):
        assert ts.line("date")[:2] in ("20",)
        assert ts.line("kv").split("：")[0].split(":")[0] in vocab.KEYS
        assert ts.line("english").isascii()
        assert any(ch.isdigit() for ch in ts.line("phone"))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (1234.5, "壹仟贰佰叁拾肆元伍角"),
        (1234.56, "壹仟贰佰叁拾肆元伍角陆分"),
        (100.05, "壹佰元零伍分"),
        (10010, "壹万零壹拾元整"),
        (100000, "壹拾万元整"),
        (105000, "壹拾万伍仟元整"),
        (100500, "壹拾万零伍佰元整"),
        (0.5, "伍角"),
        (0, "零元整"),
        (100000000, "壹亿元整"),
        (1000000001, "壹拾亿零壹元整"),
    ],
)
def test_amount_in_words(value, words):
    assert amount_in_words(value) == words
