"""The DB network: full-resolution maps, and a trunk that starts as the bundled CTPN's."""

from pathlib import Path

import numpy as np
import tensorflow as tf
from dbnet.network import build, init_trunk_from_ctpn

CTPN_MODEL = Path(__file__).resolve().parents[2] / "models" / "ctpn" / "1"


def test_maps_come_at_the_page_resolution_and_serving_computes_the_probability_alone():
    model = build(fpn=8, head=4)
    page = tf.constant(np.full((2, 64, 96, 3), 255, np.uint8))
    trained = model(page, training=True)
    assert {k: tuple(v.shape) for k, v in trained.items()} == {
        k: (2, 64, 96) for k in ("prob", "thresh", "binary")
    }
    served = model(page, training=False)
    assert list(served) == ["prob"]
    assert float(tf.reduce_min(served["prob"])) >= 0.0 and float(tf.reduce_max(served["prob"])) <= 1.0


def test_the_trunk_starts_from_the_bundled_detector_weights():
    from ctpn.loop import init_from_savedmodel
    from ctpn.network import build as build_ctpn

    ctpn = build_ctpn()
    init_from_savedmodel(ctpn, CTPN_MODEL)
    model = build()
    before = model.trunk[0].kernel.numpy().copy()
    assert init_trunk_from_ctpn(model, CTPN_MODEL) == 30  # 6 convs and 6 batch norms of 4 arrays
    assert not np.allclose(before, model.trunk[0].kernel.numpy())
    for mine, theirs in zip(model.trunk, ctpn.trunk, strict=True):
        for a, b in zip(mine.weights, theirs.weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
