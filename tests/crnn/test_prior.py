"""The hanzi prior of decoding (crnn.prior) and its place in the exported graph (crnn.export)."""

import math

import numpy as np
import pytest
import tensorflow as tf
from crnn.charset import BLANK, load
from crnn.export import export_model
from crnn.network import build_crnn
from crnn.preprocess import batch_crops

from crnn import export, prior


def test_look_alikes_drawn_equally_often_in_training_lean_to_the_one_real_text_uses():
    cs = load()
    real = {"已": 1000, "巳": 10, "或": 500, "哦": 500}
    generated = {"已": 50, "巳": 50, "或": 50, "哦": 50}
    bias = prior.prior_bias(cs, real, generated, weight=0.5)
    assert bias[cs.index("已")] > 0 > bias[cs.index("巳")]
    # drawn as often as real text uses them: the same bias, whatever it is
    assert bias[cs.index("或")] == pytest.approx(bias[cs.index("哦")])
    # the gap between the pair is the weighted log ratio of their real frequencies (add-one smoothed)
    assert bias[cs.index("已")] - bias[cs.index("巳")] == pytest.approx(0.5 * math.log(1001 / 11), rel=1e-5)


def test_only_hanzi_get_a_bias_and_it_is_clipped():
    cs = load()
    real = {"的": 10**9}
    generated = {"龟": 10**9}  # a hanzi training drew all the time and real text never uses
    bias = prior.prior_bias(cs, real, generated, weight=0.5, clip=4.0)
    assert bias[BLANK] == 0.0
    for char in "A7:.,%￥（":
        if char in cs:
            assert bias[cs.index(char)] == 0.0, char
    assert bias.max() == pytest.approx(0.5 * 4.0)  # 的: as far up as the clip lets it
    assert bias.min() == pytest.approx(-0.5 * 4.0)  # 龟: as far down
    assert not prior.prior_bias(cs, real, generated, weight=0.0).any()


def test_the_shipped_counts_are_those_of_real_text():
    counts = prior.real_counts()
    assert len(counts) > 10_000 and all(prior.is_hanzi(char) for char in counts)
    assert counts["的"] > counts["已"] > 100 * counts["巳"]
    assert counts["或"] > 10 * counts["哦"]


def test_counts_from_a_jieba_dictionary_add_each_words_frequency_to_its_hanzi(tmp_path):
    path = tmp_path / "dict.txt"
    path.write_text("已经 30 d\n已 5 d\nAT&T 3 nz\nB超 7 n\n", encoding="utf-8")
    assert prior.counts_from_jieba(path) == {"已": 35, "经": 30, "超": 7}


def test_generated_lines_draw_rare_hanzi_as_well_as_common_ones():
    pytest.importorskip("ocr_synth")
    counts = prior.generated_counts(load(), lines=3000)
    assert all(prior.is_hanzi(char) for char in counts)
    assert len(counts) > 2000  # random level-1 lines reach most of the 3755 characters


def _tiny_model(stride: int = 4):
    tf.keras.utils.set_random_seed(7)
    return build_crnn(load().num_classes, channels=(8, 8, 16, 16), lstm_units=8, width_stride=stride)


def _read(saved_model, images, widths):
    fn = tf.saved_model.load(str(saved_model)).signatures["serving_default"]
    return fn(images=tf.constant(images), widths=tf.constant(widths))


def test_the_bias_is_part_of_the_exported_graph(tmp_path):
    """What TF Serving runs decodes with the prior too: it is a constant of the SavedModel."""
    cs = load()
    images, widths = batch_crops([np.zeros((32, 60), np.uint8)])
    model = _tiny_model()
    plain = _read(export_model(model, cs.chars, tmp_path / "1"), images, widths)
    bias = np.zeros(cs.num_classes, np.float32)
    bias[cs.index("已")] = 1000.0  # outweighs any logit of an untrained model at every step
    leaning = _read(export_model(model, cs.chars, tmp_path / "2", bias), images, widths)
    assert plain["text"].numpy()[0].decode() != "已"
    assert leaning["text"].numpy()[0].decode() == "已"  # every step 已: one character after collapse
    assert leaning["confidence"].numpy()[0] == pytest.approx(1.0)


def test_an_export_re_exported_without_a_prior_reads_as_before(tmp_path):
    cs = load()
    images, widths = batch_crops([np.zeros((32, 90), np.uint8), np.full((32, 40), 255, np.uint8)])
    first = export_model(_tiny_model(stride=2), cs.chars, tmp_path / "crnn" / "1")
    export.main(
        [
            "--saved-model",
            str(first),
            "--width-stride",
            "2",
            "--prior-weight",
            "0",
            "--bigram-weight",
            "0",
            "--models-dir",
            str(tmp_path),
        ]
    )
    again, before = _read(tmp_path / "crnn" / "2", images, widths), _read(first, images, widths)
    for key in ("text", "labels", "char_columns"):
        np.testing.assert_array_equal(again[key].numpy(), before[key].numpy())
    np.testing.assert_allclose(again["confidence"].numpy(), before["confidence"].numpy(), rtol=1e-6)


def test_re_export_of_a_saved_model_asks_for_its_stride(tmp_path, capsys):
    with pytest.raises(SystemExit):
        export.main(["--saved-model", str(tmp_path), "--models-dir", str(tmp_path)])
    assert "--width-stride" in capsys.readouterr().err


def test_a_negative_prior_weight_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        export.main(["--run-dir", str(tmp_path), "--prior-weight", "-0.3", "--models-dir", str(tmp_path)])
    assert "--prior-weight must be 0 (no prior) or more" in capsys.readouterr().err
