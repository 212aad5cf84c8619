import numpy as np
import pytest
from crnn.train import TrainConfig, load_model_from_run, train


@pytest.mark.slow
def test_training_reduces_loss_and_resume_continues_step_count(tmp_path, make_digit_samples):
    rng = np.random.default_rng(0)
    samples = make_digit_samples(rng, 256)
    calls = {"n": 0}

    def source():
        calls["n"] += 1
        return samples if calls["n"] == 1 else []

    cfg = TrainConfig(
        run_dir=str(tmp_path / "run"),
        minutes=5,
        steps=20,
        batch_size=16,
        lr=3e-3,
        warmup_steps=1,
        data_dir=None,
        min_pool=64,
        channels=(8, 16, 16, 32),
        lstm_units=16,
        threads=1,
        log_every=5,
    )
    first = train(cfg, sample_source=source)
    assert (first["start_step"], first["end_step"]) == (0, 20)
    losses = first["losses"]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:3])

    calls["n"] = 0
    cfg.steps = 5
    second = train(cfg, sample_source=source)
    assert (second["start_step"], second["end_step"]) == (20, 25)

    _, cs, step = load_model_from_run(tmp_path / "run")
    assert step == 25 and cs.num_classes == 3874
