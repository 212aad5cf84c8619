import pytest

from crnn import charset


def test_shipped_default_equals_derivation_and_covers_level1_hanzi():
    shipped = charset.read_chars("gb2312_l1")
    assert shipped == charset.build_default()
    hanzi = [c for c in shipped if "\u4e00" <= c <= "\u9fff"]
    assert len(hanzi) == 3755
    assert len(shipped) == 95 + 23 + 3755
    assert shipped[0] == " " and shipped[94] == "~" and shipped[95] == "，"
    assert hanzi[0] == "啊" and hanzi[-1] == "座"


def test_class_ids_reserve_zero_for_blank():
    cs = charset.load()
    assert cs.num_classes == len(cs.chars) + 1
    assert cs.encode(" !") == [1, 2]
    assert cs.encode("啊") == [96 + 23]
    assert cs.decode([0, 1, -1, 96 + 23]) == " 啊"


def test_encode_names_the_missing_characters():
    cs = charset.load()
    with pytest.raises(ValueError, match="龘"):
        cs.encode("abc龘")
