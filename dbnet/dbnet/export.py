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
    an earlier `dbnet-export` of the same widths: weight-space ensembling (WiSE-FT, Wortsman et al.,
    arXiv:2109.01903), as `crnn.export.blend_weights` does for the recogniser (the detector does
    not import it: the two model packages are independent, tests/test_layers.py). Batch-norm
    statistics are averaged like the weights; integer state is left as it is."""
    other = build(**json.loads((run_dir / "config.json").read_text()))
    init_from_savedmodel(other, saved_model)  # SystemExit with a sentence if the widths differ
    for own, their in zip(model.variables, other.variables, strict=True):
        if tf.as_dtype(own.dtype).is_floating:
            own.assign((1.0 - weight) * own + weight * their)


def _share(text: str) -> float:
    """--blend-weight: a share from 0 to 1, or a usage error that says so."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a share of --blend's weights, from 0 to 1; got {text}")
    return value


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run-dir", type=Path, default=Path("runs/dbnet"))
    p.add_argument("--out", type=Path, required=True, help="e.g. models/dbnet/1")
    p.add_argument(
        "--blend",
        type=Path,
        metavar="SAVED_MODEL",
        help="an earlier dbnet-export of the same widths (typically the one the run started from), "
        "whose weights are averaged in, --blend-weight of them",
    )
    p.add_argument(
        "--blend-weight", type=_share, default=None, help="share of --blend's weights (default 0.5)"
    )
    args = p.parse_args(argv)
    if args.blend_weight is not None and args.blend is None:
        p.error("--blend-weight is the share of --blend's weights: give --blend SAVED_MODEL too")
    weight = 0.5 if args.blend_weight is None else args.blend_weight
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
