"""Training crops for DB: `ctpn.data`'s documents and crops (synthetic and real pages), DB's maps."""

from __future__ import annotations

import numpy as np

from dbnet.targets import Maps, make_maps


def db_targets(size: int, keep: np.ndarray, cut: np.ndarray, rng: np.random.Generator) -> Maps:
    """A `ctpn.data.TargetMaker`: DB's maps of a size x size crop, lines cut by its edge ignored."""
    return make_maps(size, size, keep, ignore=cut)
