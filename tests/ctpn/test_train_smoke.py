"""Slow: a short training run learns (loss falls), checkpoints, resumes with its step count, exports."""

import json
import subprocess
import sys

import numpy as np
import pytest
from ocrstack_testing.standin_docs import bars_folder

pytestmark = pytest.mark.slow

TINY = ["--window", "32", "--lstm", "16", "--fc", "32", "--batch", "2", "--crop", "256"]


def run_train(run_dir, max_steps):
    code = (
        "import json, sys; from ctpn.train import main; "
        "r = main(sys.argv[1:]); print('RESULT ' + json.dumps(r))"
    )
    args = ["--run-dir", str(run_dir), "--max-steps", str(max_steps), "--minutes", "5", "--seed", "3", *TINY]
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :]), proc.stdout


def test_training_loss_falls_and_resume_continues_the_step_count(tmp_path):
    # 120 steps and 20-step means: per-step losses of a batch of 2 crops are noisy, and 60 steps
    # compared over 10-step windows landed within a few percent of the bound now and then.
    first, _ = run_train(tmp_path, 120)
    assert first["step"] == 120 and len(first["losses"]) == 120
    assert np.mean(first["losses"][-20:]) < 0.7 * np.mean(first["losses"][:20])
    second, out = run_train(tmp_path, 130)
    assert "resumed from" in out and "at step 120" in out
    assert second["step"] == 130 and len(second["losses"]) == 10
    # resumed weights: the loss starts near where the first run ended, not at the untrained level
    assert np.mean(second["losses"]) < np.mean(first["losses"][:20])
    assert json.loads((tmp_path / "config.json").read_text()) == {"window": 32, "lstm": 16, "fc": 32}

    from ctpn.export import main as export_main

    export_main(["--run-dir", str(tmp_path), "--out", str(tmp_path / "models" / "ctpn" / "1")])
    assert (tmp_path / "models" / "ctpn" / "1" / "saved_model.pb").exists()


def test_real_pages_become_crops_with_positive_anchors_on_their_lines(tmp_path):
    from ctpn.data import make_examples
    from ocr_synth.labelled import load_folder

    pages = load_folder(bars_folder(tmp_path / "real"))
    examples = make_examples(np.random.default_rng(0), 256, 2, pages, real_share=1.0)
    assert len(examples) == 2
    for ex in examples:
        assert ex.image.shape == (256, 256, 3)
        assert (ex.targets.labels == 1).sum() > 0  # the labelled lines are text to the detector


def test_a_new_run_starts_from_an_exported_model_and_mixes_real_pages(tmp_path):
    from ctpn.export import main as export_main

    run_train(tmp_path / "first", 3)
    export_main(["--run-dir", str(tmp_path / "first"), "--out", str(tmp_path / "m" / "1")])
    folder = bars_folder(tmp_path / "real")
    code = "import sys; from ctpn.train import main; main(sys.argv[1:])"
    args = ["--run-dir", str(tmp_path / "second"), "--minutes", "0", "--init-from", str(tmp_path / "m" / "1"),
            "--real", str(folder), "--real-share", "0.5", *TINY]  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "real pages: 1 from 1 folder(s), 50% of documents" in proc.stdout
    assert f"initialised the weights from {tmp_path / 'm' / '1'}" in proc.stdout
    # no step taken: the second run's weights are exactly the export's
    export_main(["--run-dir", str(tmp_path / "second"), "--out", str(tmp_path / "m" / "2")])
    import tensorflow as tf

    a = tf.train.load_checkpoint(str(tmp_path / "m" / "1" / "variables" / "variables"))
    b = tf.train.load_checkpoint(str(tmp_path / "m" / "2" / "variables" / "variables"))
    # the network's weights (float); dropout's seed-generator states (int) move on at every build
    names = [
        n
        for n in a.get_variable_to_shape_map()
        if n.startswith("variables_/") and a.get_tensor(n).dtype.kind == "f"
    ]
    assert len(names) > 10
    for name in names:
        np.testing.assert_array_equal(a.get_tensor(name), b.get_tensor(name))

    bad = subprocess.run(
        [sys.executable, "-c", code, "--run-dir", str(tmp_path / "third"), "--minutes", "0",
         "--init-from", str(tmp_path / "m" / "1"), "--window", "32", "--lstm", "8", "--fc", "32"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert bad.returncode != 0 and "does not fit this run's network" in bad.stderr


def test_a_tall_real_page_is_trained_at_the_scale_the_detector_reads_it(tmp_path):
    """A 3200 px receipt is read at MAX_SIDE (1600 px): its training crops must show it that size."""
    import cv2
    from ctpn.data import real_page
    from ctpn.preprocess import MAX_SIDE, prepare
    from ocr_synth.labelled import load_folder

    folder = tmp_path / "tall"
    folder.mkdir()
    page = np.full((3200, 800, 3), 255, np.uint8)
    truth = []
    for i, y in enumerate(range(100, 3100, 150)):
        right = 699 - 10 * i
        page[y : y + 40, 60 : right + 1] = 30
        truth.append({"text": f"L{i}", "box": [[60, y], [right, y], [right, y + 39], [60, y + 39]]})
    cv2.imwrite(str(folder / "p.png"), page)
    (folder / "truth.json").write_text(json.dumps({"p.png": truth}), encoding="utf-8")

    image, quads = real_page(np.random.default_rng(0), load_folder(folder))
    assert image.shape[:2] == prepare(page)[0].shape[:2] == (MAX_SIDE, 400)
    np.testing.assert_allclose(quads[0], [[30, 50], [349.5, 50], [349.5, 69.5], [30, 69.5]])
    ys, xs = np.nonzero(image[..., 0] < 128)  # the first bar's ink is where its quad says
    first = ys < 80
    assert ys[first].min() == 50 and ys[first].max() == 69 and xs[first].min() == 30
