"""The detectors' training crops (ctpn.data, shared by CTPN and DB): at what sizes real pages are shown."""

import numpy as np
from ctpn.data import CROP_SCALES, REAL_CROP_SCALES, make_examples
from ocr_synth.labelled import load_folder
from ocrstack_testing.standin_docs import bars_folder


def test_real_pages_are_also_shown_as_small_as_a_phone_photo_shows_them(tmp_path):
    """The page's bars are 24 px tall where the detector reads it (scale 1): crops show them at
    REAL_CROP_SCALES of that, down to half, below the 0.8x that generated pages go down to."""
    pages = load_folder(bars_folder(tmp_path / "real"))
    examples = make_examples(
        np.random.default_rng(0), 512, 60, pages, real_share=1.0, targets=lambda size, keep, cut, rng: keep
    )
    heights = np.array([np.ptp(quad[:, 1]) + 1 for ex in examples for quad in ex.targets])
    assert len(heights) == 3 * 60  # every bar in every crop: the page fits a 512 px crop at any scale
    low, high = (24 * s for s in REAL_CROP_SCALES)
    assert heights.min() < 24 * CROP_SCALES[0] - 4  # smaller than generated pages are ever shown
    assert low - 1 <= heights.min() and heights.max() <= high + 1
