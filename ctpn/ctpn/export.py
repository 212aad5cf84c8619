"""`ctpn-export`: latest checkpoint -> SavedModel in TF Serving layout with signature `serving_default`."""

import argparse
import json
from pathlib import Path

import tensorflow as tf

from ctpn.network import CTPN, build, weights


class Serving(tf.Module):
    """Wraps the network so the signature exposes exactly the contract in docs/architecture.md."""

    def __init__(self, model: CTPN):
        super().__init__()
        self.model = model
        self.variables_ = list(model.variables)  # tracked explicitly, see ctpn.network.weights

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="image")])
    def serving_default(self, image):
        out = self.model(image, training=False)
        return {"cls_prob": out["cls_prob"], "v_deltas": out["v_deltas"], "side_offsets": out["side_offsets"]}


def load_model(run_dir: Path, build=build, weights=weights) -> CTPN:
    """The model of a training run, weights from its latest checkpoint (`build` and `weights`: another
    network's, for a run of `ctpn.loop`'s of another detector)."""
    config = json.loads((run_dir / "config.json").read_text())
    model = build(**config)
    latest = tf.train.latest_checkpoint(str(run_dir / "ckpt"))
    if latest is None:
        raise FileNotFoundError(f"no checkpoint under {run_dir / 'ckpt'}")
    tf.train.Checkpoint(model=weights(model)).restore(
        latest
    ).expect_partial().assert_existing_objects_matched()
    return model


def export(model: CTPN, out: Path) -> Path:
    module = Serving(model)
    tf.saved_model.save(module, str(out), signatures={"serving_default": module.serving_default})
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--run-dir", type=Path, default=Path("runs/ctpn"))
    p.add_argument("--out", type=Path, default=Path("models/ctpn/1"))
    args = p.parse_args(argv)
    export(load_model(args.run_dir), args.out)
    print(f"exported {args.run_dir} -> {args.out}")


if __name__ == "__main__":
    main()
