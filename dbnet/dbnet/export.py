"""`dbnet-export`: a run's latest checkpoint -> SavedModel (TF Serving layout), signature `serving_default`:
uint8 image [N, H, W, 3] (H, W multiples of 16, `ctpn.preprocess.prepare`) -> float32 prob [N, H, W]."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import tensorflow as tf

from dbnet.network import DB, build, weights


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
    model = build(**json.loads((run_dir / "config.json").read_text()))
    latest = tf.train.latest_checkpoint(str(run_dir / "ckpt"))
    if latest is None:
        raise SystemExit(f"no checkpoint under {run_dir / 'ckpt'}")
    tf.train.Checkpoint(model=weights(model)).restore(
        latest
    ).expect_partial().assert_existing_objects_matched()
    return model


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--run-dir", type=Path, default=Path("runs/dbnet"))
    p.add_argument("--out", type=Path, required=True, help="e.g. models/dbnet/1")
    args = p.parse_args(argv)
    module = Serving(load_model(args.run_dir))
    tf.saved_model.save(module, str(args.out), signatures={"serving_default": module.serving_default})
    print(f"exported {args.run_dir} -> {args.out}")


if __name__ == "__main__":
    main()
