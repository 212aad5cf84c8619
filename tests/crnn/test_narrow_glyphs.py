"""Narrow glyphs and CTC: does the recogniser's horizontal stride leave room for `ll`, `ii`, `11`?

CTC emits one label per time step and needs a blank between two equal labels, so a run of doubled
letters needs two time steps per glyph. These tests measure, in every Latin family we train on and
the held-out one, how wide a run of narrow glyphs is in the 32 px crop the recogniser reads (a 14 px
line, cut with `crop_line` as the service does), against the model's stride.
"""

import numpy as np
import pytest
import tensorflow as tf
from crnn.data import ctc_feasible
from crnn.network import build_crnn, sequence_lengths, stride_of
from crnn.preprocess import crop_line
from ocr_synth import fonts, render

NARROW = "li1.:"


def _crop_width(text: str, spec: fonts.FontSpec, size: int = 14) -> int:
    m = render.ink_mask(text, spec, size)
    image = np.full((m.height + 20, m.width + 20), 255, np.uint8)
    quad = np.float32([[10, 10], [10 + m.width, 10], [10 + m.width, 10 + m.height], [10, 10 + m.height]])
    return crop_line(image, quad).shape[1]


def _narrowest_glyph_px(spec: fonts.FontSpec) -> float:
    """Crop pixels per glyph in a run of 16 of the narrowest glyph, in a line with an ascender and
    a descender (so the line height, and with it the crop's scale, is a real line's)."""
    base = _crop_width("Hg  gH", spec)
    return min((_crop_width(f"Hg {ch * 16} gH", spec) - base) / 16 for ch in NARROW)


LATIN = sorted(
    {s for split in ("train", "heldout") for s in fonts.discover(split) if not s.cjk and not s.bold},
    key=lambda s: s.family,
)


@pytest.fixture(scope="module")
def narrowest():
    return {spec.family: _narrowest_glyph_px(spec) for spec in LATIN}


def test_at_stride_2_every_doubled_narrow_glyph_gets_the_two_steps_ctc_needs(narrowest):
    for family, px in narrowest.items():
        assert px / 2 >= 2.0, f"{family}: {px:.1f} px per glyph = {px / 2:.2f} steps at stride 2"


def test_at_the_shipped_stride_4_condensed_and_sans_families_do_not(narrowest):
    """Why `hello` was read `helo`: at stride 4 a 14 px `l` gets ~1.3-1.6 steps in most sans faces."""
    short = sorted(f for f, px in narrowest.items() if px / 4 < 2.0)
    assert {"Nimbus Sans Narrow", "Roboto Condensed", "Lato", "DejaVu Sans"} <= set(short), short


def test_a_line_of_doubled_letters_is_ctc_feasible_at_stride_2_in_every_family():
    text = "Hello billing 2011 till: Mississippi ... Latte Email"
    ids = np.asarray([ord(c) for c in text])  # feasibility depends only on lengths and repeats
    for spec in LATIN:
        width = _crop_width(text, spec)
        assert ctc_feasible(ids, width, stride=2), spec.family


@pytest.mark.parametrize("stride", [4, 2])
def test_the_network_gives_one_step_per_stride_pixels_and_both_strides_share_weights(stride):
    model = build_crnn(20, (8, 16, 16, 32), 16, width_stride=stride)
    assert stride_of(model) == stride
    images = tf.zeros([2, 32, 100, 1], tf.uint8)
    widths = tf.constant([100, 37], tf.int32)
    logits = model([images, widths])
    assert logits.shape == (2, -(-100 // stride), 20)
    assert sequence_lengths(widths, stride).numpy().tolist() == [-(-100 // stride), -(-37 // stride)]
    other = build_crnn(20, (8, 16, 16, 32), 16, width_stride=6 - stride)
    assert [w.shape for w in model.weights] == [w.shape for w in other.weights]  # warm-startable


def test_an_unknown_stride_is_refused():
    with pytest.raises(ValueError, match="width_stride must be one of"):
        build_crnn(20, (8, 16, 16, 32), 16, width_stride=3)
