"""Slow: a short training run learns (loss falls), checkpoints, resumes with its step count, exports."""

import json
import subprocess
import sys

import numpy as np
import pytest

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
