"""The word-pair prior of decoding (crnn.bigram) and its place in the exported graph (crnn.export)."""

import itertools

import numpy as np
import pytest
import tensorflow as tf
from crnn.charset import BLANK, load
from crnn.decode import greedy_decode
from crnn.export import export_model
from crnn.network import TimeStepMask

from crnn import bigram, export

CS = load()
FLOOR = -30.0  # the logit of every class a step does not name


def _logits(lines: list[list[dict[str, float]]]) -> tuple[np.ndarray, np.ndarray]:
    """Lines of steps, each step {char: logit} ("" is the blank) -> (logits [N, T, C], lengths [N])."""
    steps = max(len(line) for line in lines)
    out = np.full((len(lines), steps, CS.num_classes), FLOOR, np.float32)
    out[:, :, BLANK] = 0.0  # past a line's end: blank
    for n, line in enumerate(lines):
        for t, step in enumerate(line):
            out[n, t, BLANK] = FLOOR
            for char, logit in step.items():
                out[n, t, BLANK if char == "" else CS.index(char)] = logit
    return out, np.array([len(line) for line in lines], np.int32)


def _read(lines, pairs: dict[str, int], weight: float = bigram.WEIGHT) -> list[str]:
    logits, lengths = _logits(lines)
    keys, bonus = bigram.pair_table(CS, pairs, weight)
    greedy, _ = greedy_decode(tf.constant(logits), tf.constant(lengths))
    hanzi = tf.constant(bigram.hanzi_classes(CS))
    labels, probs = bigram.rescore(
        tf.constant(logits), tf.constant(lengths), greedy, tf.constant(keys), tf.constant(bonus), hanzi
    )
    assert np.array_equal(labels.numpy() >= 0, greedy.numpy() >= 0)  # nothing added, nothing dropped
    assert np.all((probs.numpy() > 0) == (labels.numpy() >= 0))
    return [CS.decode([k for k in row if k >= 0]) for row in labels.numpy().tolist()]


BLANK_STEP = {"": 0.0}


def test_a_close_call_goes_to_the_reading_that_makes_a_word():
    # 巳 a little surer than 已 in the image; 已经 is a word, 巳经 is not
    line = [{"巳": 0.0, "已": -0.5}, BLANK_STEP, {"经": 0.0}]
    assert _read([line], {}) == ["巳经"]
    assert _read([line], {"已经": 5000}) == ["已经"]
    assert _read([line], {"已经": 5000}, weight=0.0) == ["巳经"]


def test_a_reading_the_image_makes_clear_is_never_swapped():
    # 已 four nats behind: not a candidate however common the word (MARGIN is 3)
    line = [{"巳": 0.0, "已": -4.0}, BLANK_STEP, {"经": 0.0}]
    assert _read([line], {"已经": 10**9}) == ["巳经"]


def test_the_word_is_read_from_its_second_character_too():
    # 写 / 零 after 大: 大写 is a word, 大零 is not (the pair before decides). The run of two steps is
    # read at its surer one (写 0.7 behind: the bonus of 69 is 0.4 * log(7.9) = 0.83), not the other
    line = [{"大": 0.0}, BLANK_STEP, {"零": 0.0, "写": -0.7}, {"零": -0.2, "写": -0.8}, BLANK_STEP]
    assert _read([line], {"大写": 69}) == ["大写"]
    surer_second = [{"大": 0.0}, BLANK_STEP, {"零": -0.2, "写": -0.8}, {"零": 0.0, "写": -1.5}, BLANK_STEP]
    assert _read([surer_second], {"大写": 69}) == ["大零"]
    # and the surer step is not merely the run's last: here the first is sure of 零 (写 is no
    # candidate there), the last nearly undecided, and the run reads 零
    surer_first = [{"大": 0.0}, BLANK_STEP, {"零": 0.0, "写": -3.5}, {"零": 0.0, "写": -0.05}, BLANK_STEP]
    assert _read([surer_first], {"大写": 69}) == ["大零"]


def test_only_hanzi_are_swapped_and_only_for_hanzi():
    # 1 a little surer than 一 before 个: 一个 is among the commonest words, but a digit the image
    # shows stays a digit (and a mark a mark); 一 close behind 1 is no candidate
    common = {"一个": 10**6, "一共": 10**6}
    assert _read([[{"1": 0.0, "一": -0.5}, BLANK_STEP, {"个": 0.0}]], common) == ["1个"]
    assert _read([[{"-": 0.0, "一": -0.5}, BLANK_STEP, {"共": 0.0}]], common) == ["-共"]
    # 一 read, 1 close behind: 一 is swapped for no digit either (no pair holds one)
    assert _read([[{"一": 0.0, "1": -0.1}, BLANK_STEP, {"个": 0.0}]], common) == ["一个"]
    # beside a digit, a hanzi is still rescored with its other neighbour
    line = [{"2": 0.0}, BLANK_STEP, {"巳": 0.0, "已": -0.5}, BLANK_STEP, {"经": 0.0}]
    assert _read([line], {"已经": 5000}) == ["2已经"]


def test_a_repeated_character_keeps_both_readings():
    # two runs of 巳 separated by a blank: two characters, each rescored on its own
    line = [{"巳": 0.0, "已": -0.5}, BLANK_STEP, {"巳": 0.0, "已": -0.5}, BLANK_STEP, {"经": 0.0}]
    assert _read([line], {"已经": 5000}) == ["巳已经"]


def _brute_force(line: list[dict[str, float]], pairs: dict[str, int]) -> str:
    """The best reading by trying every combination of each character's candidates (one step per
    character in these lines, its candidates within the margin of its best)."""
    keys, bonus = bigram.pair_table(CS, pairs)
    table = dict(zip(keys.tolist(), bonus.tolist(), strict=True))
    steps = [step for step in line if "" not in step]
    options = []
    for step in steps:
        top = max(step.values())
        # a step's softmax shares one normaliser: logits serve for log-probabilities here
        options.append([(c, v) for c, v in step.items() if v >= top - bigram.MARGIN])

    def score(choice):
        pair = sum(
            table.get(CS.index(a) * CS.num_classes + CS.index(b), 0.0)
            for (a, _), (b, _) in itertools.pairwise(choice)
        )
        return sum(v for _, v in choice) + pair

    return "".join(c for c, _ in max(itertools.product(*options), key=score))


def test_viterbi_over_a_batch_finds_what_trying_every_reading_finds():
    rng = np.random.default_rng(3)
    pool = "已巳经理里程成城大写零文件牛午干千"
    pairs = {
        "已经": 5000,
        "经理": 3000,
        "理程": 20,
        "里程": 800,
        "成城": 50,
        "大写": 69,
        "文件": 900,
        "件牛": 15,
        "干千": 40,
        "千里": 400,
        "写文": 12,
    }
    lines = []
    for length in (1, 2, 5, 8, 3, 6):
        line = []
        for _ in range(length):
            chars = rng.choice(list(pool), size=3, replace=False)
            line.append(
                {
                    str(c): float(v)
                    for c, v in zip(chars, [0.0, *sorted(-rng.uniform(0, 3.5, 2))], strict=True)
                }
            )
            line.append(BLANK_STEP)
        lines.append(line)
    lines.append([BLANK_STEP, BLANK_STEP])  # a line of nothing
    got = _read(lines, pairs)
    assert got[-1] == ""
    assert got[:-1] == [_brute_force(line, pairs) for line in lines[:-1]]
    assert got != _read(lines, {})  # the pairs changed some reading (else this test tests nothing)


def test_a_batch_without_a_character_reads_empty_lines():
    assert _read([[BLANK_STEP], [BLANK_STEP, BLANK_STEP]], {"已经": 5000}) == ["", ""]


def test_pairs_of_a_jieba_dictionary_count_each_words_frequency(tmp_path):
    path = tmp_path / "dict.txt"
    path.write_text("已经 30 d\n经理 20 n\n已经理 5 n\nAT&T 3 nz\nB超 70 n\n", encoding="utf-8")
    assert bigram.pairs_from_jieba(path, min_count=1) == {"已经": 35, "经理": 25}
    assert bigram.pairs_from_jieba(path, min_count=30) == {"已经": 35}


def test_the_command_writes_the_pairs_with_the_dictionarys_licence(tmp_path, capsys):
    path, out = tmp_path / "dict.txt", tmp_path / "pairs.tsv"
    path.write_text("已经 30 d\n经理 20 n\n已经理 5 n\n", encoding="utf-8")
    bigram.main(["--jieba-dict", str(path), "--out", str(out)])
    text = out.read_text(encoding="utf-8")
    assert text.endswith("已经\t35\n经理\t25\n")
    assert "# Copyright (c) 2013 Sun Junyi" in text
    assert "2 pairs" in capsys.readouterr().out


def test_the_shipped_pairs_are_those_of_real_words():
    pairs = bigram.real_pairs()
    assert len(pairs) > 100_000 and all(len(p) == 2 and all(map(bigram.is_hanzi, p)) for p in pairs)
    assert pairs["完成"] > 10_000 and pairs["大写"] >= bigram.MIN_COUNT
    assert "巳完" not in pairs and "大零" not in pairs
    keys, bonus = bigram.pair_table(CS, pairs)
    assert np.all(np.diff(keys) > 0) and np.all(bonus > 0)


class ScriptedSteps(tf.keras.layers.Layer):
    """Logits chosen by the image: each step (2 columns) reads row 0, 1 or 2 of `table` as its
    columns are black, grey or white: a recogniser whose readings a test writes."""

    def __init__(self, table: np.ndarray, **kwargs):
        super().__init__(**kwargs)
        self.table = tf.constant(table)

    def call(self, images):
        columns = tf.reduce_mean(tf.cast(images, tf.float32), axis=[1, 3])[:, ::2]
        return tf.gather(self.table, tf.cast(tf.round(columns / 127.5), tf.int32))


def _scripted_model(steps: list[dict[str, float]]) -> tf.keras.Model:
    table, _ = _logits([steps])
    images = tf.keras.Input(shape=(32, None, 1), dtype=tf.uint8, name="images")
    widths = tf.keras.Input(shape=(), dtype=tf.int32, name="widths")
    logits = ScriptedSteps(table[0])(images)
    mask = TimeStepMask(stride=2, name="time_step_mask")(logits, widths)
    return tf.keras.Model([images, widths], tf.keras.ops.where(mask[..., None], logits, 0.0))


def _serve(saved_model, images, widths):
    fn = tf.saved_model.load(str(saved_model)).signatures["serving_default"]
    return {k: v.numpy() for k, v in fn(images=tf.constant(images), widths=tf.constant(widths)).items()}


def test_the_pairs_are_part_of_the_exported_graph(tmp_path):
    """The SavedModel (what TF Serving runs) rescores with the table it was exported with."""
    model = _scripted_model([BLANK_STEP, {"巳": 0.0, "已": -0.5}, {"经": 0.0}])
    # a crop reading grey, grey, black, white, white: 巳 (已 close behind), a blank, 经
    crop = np.repeat(np.array([128, 128, 128, 128, 0, 0, 255, 255, 255, 255], np.uint8), 1)
    images, widths = np.broadcast_to(crop, (1, 32, 10))[..., None].copy(), np.array([10], np.int32)
    plain = _serve(export_model(model, CS.chars, tmp_path / "1"), images, widths)
    pairs = bigram.pair_table(CS, {"已经": 5000})
    rescored = _serve(export_model(model, CS.chars, tmp_path / "2", pairs=pairs), images, widths)
    assert plain["text"][0].decode() == "巳经"
    assert rescored["text"][0].decode() == "已经"
    np.testing.assert_array_equal(rescored["char_columns"], plain["char_columns"])
    # 已 was the image's second choice: the line is less sure than the greedy reading
    assert rescored["char_confidence"][0, 0] < plain["char_confidence"][0, 0]
    assert rescored["confidence"][0] < plain["confidence"][0]
    # a batch in which no crop holds a character (all black: blank steps) reads empty lines
    blank = _serve(tmp_path / "2", np.zeros((2, 32, 10, 1), np.uint8), np.array([10, 6], np.int32))
    assert blank["text"].tolist() == [b"", b""] and blank["confidence"].tolist() == [1.0, 1.0]


def test_the_exported_graph_swaps_no_digit_for_a_hanzi(tmp_path):
    """The SavedModel knows which of its classes are hanzi: 1 before 个 stays 1."""
    model = _scripted_model([BLANK_STEP, {"1": 0.0, "一": -0.5}, {"个": 0.0}])
    crop = np.array([128, 128, 128, 128, 0, 0, 255, 255, 255, 255], np.uint8)
    images, widths = np.broadcast_to(crop, (1, 32, 10))[..., None].copy(), np.array([10], np.int32)
    pairs = bigram.pair_table(CS, {"一个": 10**6})
    read = _serve(export_model(model, CS.chars, tmp_path / "1", pairs=pairs), images, widths)
    assert read["text"][0].decode() == "1个"


def test_a_negative_bigram_weight_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        export.main(["--run-dir", str(tmp_path), "--bigram-weight", "-1", "--models-dir", str(tmp_path)])
    assert "--bigram-weight must be 0 (no prior) or more" in capsys.readouterr().err
