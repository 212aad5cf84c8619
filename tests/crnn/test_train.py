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
    # ru_maxrss is KiB on Linux: TensorFlow alone holds more than 0.1 GiB; a wrong unit is 1024x off
    assert 0.1 < first["peak_rss_gib"] < 64
    losses = first["losses"]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:3])

    calls["n"] = 0
    cfg.steps = 5
    second = train(cfg, sample_source=source)
    assert (second["start_step"], second["end_step"]) == (20, 25)

    _, cs, step = load_model_from_run(tmp_path / "run")
    assert step == 25 and cs.num_classes == 3874


@pytest.mark.slow
def test_a_new_run_can_start_from_an_exported_model_and_refuses_another_shape(tmp_path, make_digit_samples):
    from crnn.export import export_model

    samples = make_digit_samples(np.random.default_rng(1), 128)
    small = dict(channels=(8, 16, 16, 32), lstm_units=16, threads=1, min_pool=64, batch_size=16)

    def cfg(run, **kw):
        settings = dict(minutes=5, lr=3e-3, warmup_steps=1, **small) | kw
        return TrainConfig(run_dir=str(tmp_path / run), **settings)

    trained = train(cfg("first", steps=30), sample_source=lambda: samples)
    model, cs, _ = load_model_from_run(tmp_path / "first")
    export_model(model, cs.chars, tmp_path / "export" / "1")
    export = str(tmp_path / "export" / "1")

    # a learning rate of ~0: the losses are those of the exported weights, not of a random model
    warm = train(cfg("warm", steps=3, lr=1e-9, init_from=export), sample_source=lambda: samples)
    cold = train(cfg("cold", steps=3, lr=1e-9), sample_source=lambda: samples)
    assert np.mean(warm["losses"]) < 0.5 * np.mean(cold["losses"]), (warm["losses"], cold["losses"])
    assert np.mean(warm["losses"]) < 1.5 * np.mean(trained["losses"][-5:])

    wider = cfg("wider", steps=1, lstm_units=32, init_from=export)
    with pytest.raises(ValueError, match="does not fit this run's model"):
        train(wider, sample_source=lambda: samples)


@pytest.mark.slow
def test_labelled_pages_are_mixed_into_training_at_the_asked_share(
    tmp_path, receipt_folder, make_digit_samples, capsys
):
    folder = receipt_folder
    samples = make_digit_samples(np.random.default_rng(2), 64)
    small = dict(channels=(8, 16, 16, 32), lstm_units=16, threads=1, min_pool=32, batch_size=8)
    cfg = TrainConfig(
        run_dir=str(tmp_path / "run"), minutes=5, steps=3, real=(str(folder),), real_share=0.5, **small
    )
    result = train(cfg, sample_source=lambda: samples)
    assert result["end_step"] == 3
    assert "real lines: 2 from 1 pages (1 left out), 50% of training lines" in capsys.readouterr().out

    with pytest.raises(ValueError, match="--real-share must be between 0 and 1"):
        train(
            TrainConfig(run_dir=str(tmp_path / "run2"), steps=1, real=(str(folder),), real_share=1.0, **small)
        )


@pytest.mark.slow
def test_a_run_with_more_channels_starts_reading_as_the_narrower_model_did_and_grows(
    tmp_path, make_digit_samples
):
    import tensorflow as tf
    from crnn.data import collate
    from crnn.export import export_model

    samples = make_digit_samples(np.random.default_rng(3), 128)
    small = dict(lstm_units=16, threads=1, min_pool=64, batch_size=16, warmup_steps=1, minutes=5)
    train(TrainConfig(str(tmp_path / "narrow"), steps=30, lr=3e-3, channels=(8, 16, 16, 32), **small),
          sample_source=lambda: samples)  # fmt: skip
    narrow, cs, _ = load_model_from_run(tmp_path / "narrow")
    export_model(narrow, cs.chars, tmp_path / "export" / "1")
    export = str(tmp_path / "export" / "1")

    # no step taken: the wider model, as initialised, is what the run stores
    wide_cfg = TrainConfig(
        str(tmp_path / "wide"), steps=0, channels=(12, 24, 24, 40), init_from=export, **small
    )
    train(wide_cfg, sample_source=lambda: samples)
    wide, _, _ = load_model_from_run(tmp_path / "wide")
    assert wide.get_layer("conv5").kernel.shape == (3, 3, 24, 40)
    images, widths, _, _ = collate(samples[:8])
    before = narrow([images, widths], training=False).numpy()
    after = wide([images, widths], training=False).numpy()
    np.testing.assert_allclose(after, before, atol=1e-4)
    assert np.abs(before).max() > 1.0  # a trained model's logits, not a zero-vs-zero comparison

    # training grows the new channels: the next layer's rows for them start at zero and move
    wide_cfg.steps, wide_cfg.lr = 10, 3e-3
    train(wide_cfg, sample_source=lambda: samples)
    grown, _, _ = load_model_from_run(tmp_path / "wide")
    new_rows = grown.get_layer("conv2").kernel.numpy()[:, :, 8:, :]
    assert tf.math.count_nonzero(new_rows) > 0

    too_narrow = TrainConfig(
        str(tmp_path / "less"), steps=1, channels=(4, 16, 16, 32), init_from=export, **small
    )
    with pytest.raises(ValueError, match="does not fit this run's model"):
        train(too_narrow, sample_source=lambda: samples)


def test_channels_must_be_four_positive_counts(tmp_path, capsys):
    from crnn.train import main

    with pytest.raises(SystemExit):
        main(["--run-dir", str(tmp_path / "run"), "--channels", "48,96,192"])
    assert (
        "expected four positive channel counts such as 48,96,192,256, got '48,96,192'"
        in capsys.readouterr().err
    )
    assert not (tmp_path / "run").exists()
