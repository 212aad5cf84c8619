"""What a detector answers for a page with no text, for the fake runners of the service tests.

The outputs have the signatures of docs/architecture.md for each line detector, so a fake serves
whichever detector the service is set to call (OCR_DETECTOR).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from ocr_service.settings import DETECTORS

__all__ = ["DETECTORS", "no_lines"]


def no_lines(model: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The outputs of detector `model` that hold no line, for its input `image` [N, H, W, 3]."""
    n, h, w, _ = inputs["image"].shape
    if model == "dbnet":
        return {"prob": np.zeros((n, h, w), np.float32)}
    if model == "ctpn":
        cells = (n, h // 16, w // 16, 10)
        zeros = np.zeros(cells, np.float32)
        return {"cls_prob": zeros, "v_deltas": np.zeros((*cells, 2), np.float32), "side_offsets": zeros}
    raise ValueError(f"{model!r} is not a line detector ({', '.join(DETECTORS)})")
