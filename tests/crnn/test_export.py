import numpy as np
import pytest
import tensorflow as tf
from crnn.charset import load
from crnn.export import blend_weights, export_model, main, next_version
from crnn.network import build_crnn
from crnn.preprocess import batch_crops


def test_exported_signature_round_trip(tmp_path):
    cs = load()
    model = build_crnn(cs.num_classes, channels=(8, 8, 16, 16), lstm_units=8)
    root = tmp_path / "models" / "crnn"
    assert next_version(root) == 1
    out = export_model(model, cs.chars, root / "1")
    assert (out / "saved_model.pb").exists()
    assert next_version(root) == 2

    loaded = tf.saved_model.load(str(out))
    fn = loaded.signatures["serving_default"]
    assert list(loaded.signatures.keys()) == ["serving_default"]
    in_specs = fn.structured_input_signature[1]
    assert sorted(in_specs) == ["images", "widths"]
    assert in_specs["images"].dtype == tf.uint8 and in_specs["images"].shape.as_list() == [None, 32, None, 1]
    assert in_specs["widths"].dtype == tf.int32 and in_specs["widths"].shape.as_list() == [None]
    outs = fn.structured_outputs
    assert sorted(outs) == ["char_columns", "char_confidence", "confidence", "labels", "text"]
    assert all(isinstance(v, tf.TensorSpec) for v in outs.values())  # dense only, no SparseTensor

    images, widths = batch_crops([np.full((32, 40), 255, np.uint8), np.zeros((32, 90), np.uint8)])
    res = fn(images=tf.constant(images), widths=tf.constant(widths))
    assert res["text"].dtype == tf.string and res["text"].shape == (2,)
    assert res["confidence"].dtype == tf.float32 and res["confidence"].shape == (2,)
    assert res["labels"].dtype == tf.int32 and res["labels"].shape[0] == 2
    labels = res["labels"].numpy()
    assert labels.shape[1] <= 96 // 4
    # text is exactly the charset lookup of the non-padding labels
    for row, text, conf in zip(labels, res["text"].numpy(), res["confidence"].numpy(), strict=True):
        assert text.decode() == cs.decode(row.tolist())
        assert 0.0 < conf <= 1.0


def test_a_crop_reads_the_same_alone_and_beside_a_wider_crop():
    # Padding to the widest crop of a batch must not steer a crop's logits: the LSTMs skip the
    # padded time steps (masked by `widths`) in both directions. What remains is the conv stack's
    # edge effect on the last few steps (zero vs white padding beyond the crop), a few percent of
    # the logits; without the mask the backward LSTM starts in the padding and the difference is
    # as large as the logits themselves (measured: 6% vs 120% with these weights).
    cs = load()
    tf.keras.utils.set_random_seed(3)
    model = build_crnn(cs.num_classes, channels=(8, 8, 16, 16), lstm_units=8)
    rng = np.random.default_rng(0)
    short = rng.integers(0, 256, (32, 60), dtype=np.uint8)
    wide = rng.integers(0, 256, (32, 200), dtype=np.uint8)
    steps = 60 // 4  # the crop's own time steps (batch_crops pads even a lone crop a little)
    alone = model(list(batch_crops([short])), training=False).numpy()[0][:steps]
    batched = model(list(batch_crops([short, wide])), training=False).numpy()[0][:steps]
    assert np.abs(batched - alone).max() < 0.1 * np.abs(alone).max()


def test_character_columns_are_crop_pixels_whatever_the_stride(tmp_path):
    """`char_columns` is where each character sits in the crop: the export applies the stride."""
    cs = load()
    images, widths = batch_crops([np.zeros((32, 120), np.uint8)])
    for stride in (4, 2):
        tf.keras.utils.set_random_seed(5)
        model = build_crnn(cs.num_classes, channels=(8, 8, 16, 16), lstm_units=8, width_stride=stride)
        fn = tf.saved_model.load(str(export_model(model, cs.chars, tmp_path / str(stride)))).signatures[
            "serving_default"
        ]
        res = fn(images=tf.constant(images), widths=tf.constant(widths))
        columns = res["char_columns"].numpy()[0]
        kept = columns[columns >= 0]
        assert len(kept) == len(res["text"].numpy()[0].decode())
        assert np.all((kept - stride / 2) % stride == 0)  # centres of this stride's steps
        assert kept.max(initial=0) < 120


def _tiny(seed: int, lstm_units: int = 8) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(seed)
    return build_crnn(load().num_classes, channels=(8, 8, 16, 16), lstm_units=lstm_units)


def _weights(saved_model) -> dict[str, np.ndarray]:
    """The model's variables in a SavedModel, by checkpoint key."""
    reader = tf.train.load_checkpoint(str(saved_model / "variables" / "variables"))
    keys = [k for k in reader.get_variable_to_shape_map() if k.startswith("model/")]
    return {k: reader.get_tensor(k) for k in keys}


def test_a_blend_is_the_weighted_average_of_the_two_models_weights():
    mine, theirs = _tiny(7), _tiny(8)
    before = [v.numpy() for v in mine.variables]
    blend_weights(mine, theirs, 0.25)
    floats = 0
    for blended, own, their in zip(mine.variables, before, theirs.variables, strict=True):
        if np.issubdtype(own.dtype, np.floating):
            floats += 1
            expected = 0.75 * own + 0.25 * their.numpy()
            np.testing.assert_allclose(blended.numpy(), expected, rtol=1e-5, atol=1e-6)
        else:  # integer state (seed generators) is not a weight: left as it was
            np.testing.assert_array_equal(blended.numpy(), own)
    assert floats > 10
    with pytest.raises(ValueError, match="differ in shape"):
        blend_weights(mine, _tiny(9, lstm_units=16), 0.5)


def test_crnn_export_blends_an_earlier_export_in(tmp_path, capsys):
    """`--blend B --blend-weight 1` exports B's weights; another shape or a weight outside 0..1 is
    refused with a sentence, and nothing is written."""
    cs = load()
    export_model(_tiny(7), cs.chars, tmp_path / "a" / "1")
    export_model(_tiny(8), cs.chars, tmp_path / "b" / "1")
    export_model(_tiny(9, lstm_units=16), cs.chars, tmp_path / "wide" / "1")
    base = ["--saved-model", str(tmp_path / "a" / "1"), "--width-stride", "4", "--prior-weight", "0"]
    base += ["--bigram-weight", "0", "--models-dir", str(tmp_path / "out")]
    main([*base, "--blend", str(tmp_path / "b" / "1"), "--blend-weight", "1", "--version", "1"])
    assert "blended with" in capsys.readouterr().out

    blended, b, a = (_weights(tmp_path / d / "1") for d in ("out/crnn", "b", "a"))
    assert len(b) > 10 and blended.keys() == b.keys()
    assert all(np.array_equal(blended[k], b[k]) for k in b)
    assert not all(np.array_equal(blended[k], a[k]) for k in a)  # not the first model's own

    with pytest.raises(SystemExit, match="differ in shape"):
        main([*base, "--blend", str(tmp_path / "wide" / "1"), "--version", "2"])
    with pytest.raises(SystemExit):
        main([*base, "--blend", str(tmp_path / "b" / "1"), "--blend-weight", "1.5", "--version", "3"])
    assert "--blend-weight is a share" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--blend-weight", "0.3", "--version", "4"])  # a weight of no blend
    assert "give --blend SAVED_MODEL too" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out" / "crnn").iterdir()) == ["1"]
