"""Slow: a short DB run learns (loss falls), checkpoints, resumes with its step count, exports."""

import json
import subprocess
import sys

import numpy as np
import pytest
from ocrstack_testing.standin_docs import bars_folder

pytestmark = pytest.mark.slow

SMALL = ["--fpn", "16", "--head", "8", "--batch", "2", "--crop", "256"]


def run_train(run_dir, max_steps, *extra):
    code = (
        "import json, sys; from dbnet.train import main; "
        "r = main(sys.argv[1:]); print('RESULT ' + json.dumps(r))"
    )
    args = ["--run-dir", str(run_dir), "--max-steps", str(max_steps), "--minutes", "5", "--seed", "3", *SMALL]
    proc = subprocess.run(
        [sys.executable, "-c", code, *args, *extra], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :]), proc.stdout


def test_training_loss_falls_resumes_and_exports_a_model_that_maps_a_page(tmp_path):
    first, out = run_train(tmp_path, 150, "--trunk-from", "models/ctpn/1")
    assert "initialised the trunk from models/ctpn/1 (30 arrays)" in out
    assert first["step"] == 150 and len(first["losses"]) == 150
    # 150 steps of a narrow network on 256 px crops take the loss from about 6.5 to 4.5
    assert np.mean(first["losses"][-20:]) < 0.8 * np.mean(first["losses"][:20])
    second, out = run_train(tmp_path, 160)
    assert "resumed from" in out and "at step 150" in out
    assert second["step"] == 160 and len(second["losses"]) == 10
    assert np.mean(second["losses"]) < np.mean(first["losses"][:20])
    assert json.loads((tmp_path / "config.json").read_text()) == {"fpn": 16, "head": 8}

    import tensorflow as tf
    from dbnet.export import main as export_main

    export_main(["--run-dir", str(tmp_path), "--out", str(tmp_path / "models" / "dbnet" / "1")])
    serve = tf.saved_model.load(str(tmp_path / "models" / "dbnet" / "1")).signatures["serving_default"]
    prob = serve(image=tf.constant(np.full((1, 96, 160, 3), 255, np.uint8)))["prob"]
    assert prob.shape == (1, 96, 160)


def test_real_pages_become_crops_whose_kernels_lie_on_their_lines(tmp_path):
    from ctpn.data import make_examples
    from dbnet.data import db_targets
    from ocr_synth.labelled import load_folder

    pages = load_folder(bars_folder(tmp_path / "real"))
    for ex in make_examples(np.random.default_rng(0), 256, 4, pages, real_share=1.0, targets=db_targets):
        kernel = ex.targets.shrink_map > 0
        assert ex.image.shape == (256, 256, 3) and ex.targets.shrink_map.shape == (256, 256)
        assert kernel.any()  # every crop of this page holds a bar
        assert (ex.image[kernel].mean(axis=-1) < 100).all()  # kernels lie on the dark bars only
