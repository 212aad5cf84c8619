import pytest

from crnn import metrics


def test_normalize_folds_width_and_whitespace():
    assert metrics.normalize("你好， 世界！ ＡＢ１") == "你好,世界!AB1"
    assert metrics.normalize("（注）“引”") == '(注)"引"'


def test_cer_exact_numbers():
    assert metrics.cer("abc", "abc") == 0.0
    assert metrics.cer("abd", "abc") == pytest.approx(1 / 3)
    assert metrics.cer("", "abcd") == 1.0
    assert metrics.cer("ab", "") == 2.0
    assert metrics.cer("我们是", "我是") == 0.5


def test_corpus_cer_is_total_edits_over_total_reference_chars():
    preds = ["abc", "xy", "你好"]
    refs = ["abd", "xyz1", "你好"]
    assert metrics.corpus_cer(preds, refs) == pytest.approx((1 + 2 + 0) / (3 + 4 + 2))
    assert metrics.corpus_cer(["a，b"], ["a, b"]) == pytest.approx(2 / 4)
    assert metrics.corpus_cer(["a，b"], ["a, b"], normalized=True) == 0.0


def test_line_accuracy():
    assert metrics.line_accuracy(["a", "b", "c"], ["a", "x", "c"]) == pytest.approx(2 / 3)
    assert metrics.line_accuracy(["你好，"], ["你好,"], normalized=True) == 1.0
