import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from ctpn.export import export, load_model  # noqa: E402
from ctpn.network import build, weights  # noqa: E402

TINY = {"window": 16, "lstm": 8, "fc": 16}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A run directory with an untrained tiny model's checkpoint, its BN statistics made non-trivial."""
    run = tmp_path_factory.mktemp("run")
    model = build(**TINY)
    rng = np.random.default_rng(0)
    for v in model.variables:  # every variable (trunk in a list, BiLSTM cells) must round-trip
        v.assign(rng.normal(0, 0.1, v.shape).astype(np.float32) + (1.0 if "variance" in v.path else 0.0))
    (run / "config.json").write_text(json.dumps(TINY))
    tf.train.Checkpoint(model=weights(model)).save(str(run / "ckpt" / "ckpt"))
    return run, model


def image(h=64, w=96):
    return np.random.default_rng(1).integers(0, 256, (1, h, w, 3), dtype=np.uint8)


def test_checkpoint_restores_every_variable(tiny_run):
    run, model = tiny_run
    restored = weights(load_model(run))
    saved = weights(model)
    assert list(restored) == list(saved) and len(saved) == 46
    assert any(".bilstm.backward_lstm." in k for k in saved) and "ctpn.conv0.kernel" in saved
    for k, v in saved.items():
        np.testing.assert_array_equal(v.numpy(), restored[k].numpy())


def test_export_has_the_serving_contract_and_the_model_outputs(tiny_run, tmp_path):
    run, model = tiny_run
    out = export(load_model(run), tmp_path / "ctpn" / "1")
    assert (out / "saved_model.pb").exists()
    loaded = tf.saved_model.load(str(out))
    assert list(loaded.signatures) == ["serving_default"]
    fn = loaded.signatures["serving_default"]
    (args, kwargs) = fn.structured_input_signature
    assert args == () and list(kwargs) == ["image"]
    assert kwargs["image"].dtype == tf.uint8 and kwargs["image"].shape.as_list() == [None, None, None, 3]
    res = fn(image=tf.constant(image()))
    assert sorted(res) == ["cls_prob", "side_offsets", "v_deltas"]
    assert res["cls_prob"].shape == (1, 4, 6, 10) and res["cls_prob"].dtype == tf.float32
    assert res["v_deltas"].shape == (1, 4, 6, 10, 2) and res["v_deltas"].dtype == tf.float32
    assert res["side_offsets"].shape == (1, 4, 6, 10) and res["side_offsets"].dtype == tf.float32
    direct = model(image(), training=False)
    for k in res:
        np.testing.assert_allclose(res[k].numpy(), direct[k].numpy(), atol=1e-5)
    # another size and a batch of two
    res2 = fn(image=tf.constant(np.concatenate([image(160, 32)] * 2)))
    assert res2["v_deltas"].shape == (2, 10, 2, 10, 2)
