"""`dbnet-export`: a run's latest checkpoint -> SavedModel (TF Serving layout), signature `serving_default`:
uint8 image [N, H, W, 3] (H, W multiples of 16, `ctpn.preprocess.prepare`) -> float32 prob [N, H, W].

With `--blend`, the run's weights are averaged with an earlier export's (the one the run started
from, typically), as `crnn-export --blend` does for the recogniser: a fine-tuned detector that reads
new pages better and old ones worse can keep much of the gain with less of the loss (score both)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import tensorflow as tf
from crnn.export import add_blend_arguments, blend_weights, checked_blend_weight
from ctpn.loop import init_from_savedmodel
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


def blended(model: DB, run_dir: Path, saved_model: Path, weight: float) -> None:
    """`model` (of `run_dir`'s network) set to (1 - weight) x its weights + weight x `saved_model`'s,
    an earlier `dbnet-export` of the same widths (`crnn.export.blend_weights`)."""
    other = build(**json.loads((run_dir / "config.json").read_text()))
    init_from_savedmodel(other, saved_model)  # SystemExit with a sentence if it does not fit
    try:
        blend_weights(model, other, weight)
    except ValueError as exc:
        raise SystemExit(f"error: --blend {saved_model}: {exc}") from exc


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run-dir", type=Path, default=Path("runs/dbnet"))
    p.add_argument("--out", type=Path, required=True, help="e.g. models/dbnet/1")
    add_blend_arguments(p, "models/dbnet/<version>")
    args = p.parse_args(argv)
    weight = checked_blend_weight(p, args)
    try:
        model = load_model(args.run_dir)
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from exc
    origin = str(args.run_dir)
    if args.blend is not None:
        blended(model, args.run_dir, args.blend, weight)
        origin += f" blended with {args.blend} ({weight} of it)"
    module = Serving(model)
    tf.saved_model.save(module, str(args.out), signatures={"serving_default": module.serving_default})
    print(f"exported {origin} -> {args.out}")


if __name__ == "__main__":
    main()
