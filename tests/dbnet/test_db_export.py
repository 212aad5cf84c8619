"""`dbnet-export --blend`: a run's weights averaged with an earlier export's, or a clear refusal."""

import json

import numpy as np
import pytest
import tensorflow as tf
from ctpn.network import weights
from dbnet.export import main
from dbnet.network import build

SMALL = {"fpn": 16, "head": 8}


def _run(root, **widths):
    """A run folder holding one checkpoint of a freshly initialised network of these widths."""
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps(widths))
    tf.train.Checkpoint(model=weights(build(**widths))).save(str(root / "ckpt" / "ckpt"))
    return root


def _floats(saved_model):
    """The float arrays of an export, by checkpoint key (`Serving.variables_`, in the model's order)."""
    reader = tf.train.load_checkpoint(str(saved_model / "variables" / "variables"))
    keys = [k for k in reader.get_variable_to_shape_map() if k.startswith("variables_/")]
    arrays = {k: reader.get_tensor(k) for k in keys}
    return {k: v for k, v in arrays.items() if np.issubdtype(v.dtype, np.floating)}


def test_dbnet_export_blends_an_earlier_export_in(tmp_path, capsys):
    a, b = _run(tmp_path / "a", **SMALL), _run(tmp_path / "b", **SMALL)
    main(["--run-dir", str(a), "--out", str(tmp_path / "a1")])
    main(["--run-dir", str(b), "--out", str(tmp_path / "b1")])
    blend = ["--blend", str(tmp_path / "b1"), "--blend-weight", "0.25"]
    main(["--run-dir", str(a), "--out", str(tmp_path / "ab"), *blend])
    assert f"blended with {tmp_path / 'b1'} (0.25 of it)" in capsys.readouterr().out

    mine, theirs, blended = (_floats(tmp_path / d) for d in ("a1", "b1", "ab"))
    assert len(mine) > 20 and blended.keys() == mine.keys() == theirs.keys()
    assert not all(np.array_equal(mine[k], theirs[k]) for k in mine)  # two different networks
    for key, own in mine.items():
        np.testing.assert_allclose(blended[key], 0.75 * own + 0.25 * theirs[key], rtol=1e-5, atol=1e-6)


def test_dbnet_export_refuses_a_blend_it_cannot_make_and_writes_nothing(tmp_path, capsys):
    a = _run(tmp_path / "a", **SMALL)
    main(["--run-dir", str(_run(tmp_path / "wide", fpn=32, head=16)), "--out", str(tmp_path / "wide1")])
    main(["--run-dir", str(a), "--out", str(tmp_path / "a1")])
    base = ["--run-dir", str(a), "--out", str(tmp_path / "out")]

    with pytest.raises(SystemExit, match="does not fit this run's network"):
        main([*base, "--blend", str(tmp_path / "wide1")])
    with pytest.raises(SystemExit, match="is not a SavedModel"):
        main([*base, "--blend", str(tmp_path / "missing")])
    with pytest.raises(SystemExit):
        main([*base, "--blend", str(tmp_path / "a1"), "--blend-weight", "1.5"])
    assert "a share of --blend's weights, from 0 to 1; got 1.5" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--blend-weight", "0.3"])  # a weight of no blend
    assert "give --blend SAVED_MODEL too" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
