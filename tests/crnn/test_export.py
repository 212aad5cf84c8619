import numpy as np
import tensorflow as tf
from crnn.charset import load
from crnn.export import export_model, next_version
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
    assert sorted(outs) == ["confidence", "labels", "text"]
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
