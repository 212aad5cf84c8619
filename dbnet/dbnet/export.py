"""`dbnet-export`: a run's latest checkpoint -> SavedModel (TF Serving layout), signature `serving_default`:
uint8 image [N, H, W, 3] (H, W multiples of 16, `ctpn.preprocess.prepare`) -> float32 prob [N, H, W]."""

from __future__ import annotations

import argparse
from pathlib import Path

import tensorflow as tf
from ctpn.network import weights  # stable variable paths, the same for every network

from ctpn import export as ctpn_export
from dbnet.network import DB, build


class Serving(tf.Module):
    def __init__(self, model: DB):
        super().__init__()
        self.model = model
        self.variables_ = list(model.variables)  # tracked explicitly, as ctpn.export does

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="image")])
    def serving_default(self, image):
        return {"prob": self.model(image, training=False)["prob"]}


def load_model(run_dir: Path) -> DB:
    """The network of a training run, weights from its latest checkpoint."""
    return ctpn_export.load_model(run_dir, build, weights)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--run-dir", type=Path, default=Path("runs/dbnet"))
    p.add_argument("--out", type=Path, required=True, help="e.g. models/dbnet/1")
    args = p.parse_args(argv)
    try:
        module = Serving(load_model(args.run_dir))
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from exc
    tf.saved_model.save(module, str(args.out), signatures={"serving_default": module.serving_default})
    print(f"exported {args.run_dir} -> {args.out}")


if __name__ == "__main__":
    main()
