"""Export a trained CRNN as a TF Serving SavedModel (models/<name>/<version>/, `serving_default`).

Decoding and the charset lookup live inside the graph, and all outputs are dense (TF Serving cannot
return a SparseTensor). So do the hanzi prior (`crnn.prior`: a constant added to the logits before
decoding) and the word-pair prior (`crnn.bigram`: Viterbi over the readings of the best path's
characters), the same in-process and under TF Serving. Contract: docs/architecture.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import tensorflow as tf

from crnn.bigram import hanzi_classes, rescore
from crnn.charset import Charset
from crnn.decode import char_positions, greedy_decode, labels_to_text, line_confidence
from crnn.network import HEIGHT, sequence_lengths, stride_of


class CrnnServing(tf.Module):
    """Wraps the Keras model with decoding; its `serving` function is the exported signature."""

    def __init__(
        self,
        model: tf.keras.Model,
        chars: tuple[str, ...],
        bias: np.ndarray | None = None,
        pairs: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        super().__init__(name="crnn_serving")
        self.model = model
        self._chars = tuple(chars)
        self._stride = stride_of(model)
        # per-class logit bias (`crnn.prior.prior_bias`), a constant of the graph; None: no prior
        self._bias = None if bias is None else tf.constant(np.asarray(bias, np.float32)[None, None, :])
        # the word-pair bonus (`crnn.bigram.pair_table`), constants of the graph; None: greedy readings
        self._pairs = None if pairs is None or not len(pairs[0]) else tuple(tf.constant(a) for a in pairs)
        self._hanzi = tf.constant(hanzi_classes(Charset(tuple(chars))))  # the readings it may swap

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, HEIGHT, None, 1], tf.uint8, name="images"),
            tf.TensorSpec([None], tf.int32, name="widths"),
        ]
    )
    def serving(self, images: tf.Tensor, widths: tf.Tensor) -> dict[str, tf.Tensor]:
        logits = self.model([images, widths], training=False)
        if self._bias is not None:
            logits = tf.cast(logits, tf.float32) + self._bias
        lengths = tf.minimum(sequence_lengths(widths, self._stride), tf.shape(logits)[1])
        labels, conf = greedy_decode(logits, lengths)
        char_steps, char_confidence = char_positions(logits, lengths)
        if self._pairs is not None:
            greedy = labels
            labels, chosen_p = rescore(logits, lengths, greedy, *self._pairs, self._hanzi)
            # a swapped reading is as sure as the image made it; the line's confidence follows
            char_confidence = tf.where(tf.equal(labels, greedy), char_confidence, chosen_p)
            conf = line_confidence(char_confidence, labels >= 0)
        text = labels_to_text(labels, self._chars)
        # the crop column at the centre of each character's step: independent of the model's stride
        char_columns = tf.where(
            char_steps >= 0, (tf.cast(char_steps, tf.float32) + 0.5) * float(self._stride), -1.0
        )
        return {
            "text": text,
            "confidence": conf,
            "labels": labels,
            "char_columns": char_columns,
            "char_confidence": char_confidence,
        }


def next_version(model_root: Path) -> int:
    """One more than the highest numeric version directory (1 if none)."""
    versions = [int(p.name) for p in model_root.glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def export_model(
    model: tf.keras.Model,
    chars: tuple[str, ...],
    out_dir: Path,
    bias: np.ndarray | None = None,
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
) -> Path:
    """Write the SavedModel with signature `serving_default` to ``out_dir`` (`bias`: added to the
    logits of every step before decoding, one value per class; `pairs`: `crnn.bigram.pair_table`,
    which rescores the readings of the best path)."""
    module = CrnnServing(model, chars, bias, pairs)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tf.saved_model.save(
        module, str(out_dir), signatures={"serving_default": module.serving.get_concrete_function()}
    )
    return out_dir


def _model_of_savedmodel(saved_model: Path, width_stride: int):
    """(keras model, charset) holding the weights of an exported CRNN of the default charset: the
    model `crnn-train --init-from` would start from, at the shape its variables have."""
    from crnn.train import TrainConfig, _build, _init_from_savedmodel, _savedmodel_shape

    variables = saved_model / "variables" / "variables"
    if not variables.with_suffix(".index").exists():
        raise SystemExit(f"error: {saved_model} is not a SavedModel written by crnn-export")
    channels, lstm_units = _savedmodel_shape(variables)
    conf = {"charset": TrainConfig.charset, "channels": channels, "lstm_units": lstm_units}
    model, cs = _build({**conf, "width_stride": width_stride})
    _init_from_savedmodel(model, saved_model, conf)
    return model, cs


def blend_weights(model: tf.keras.Model, other: tf.keras.Model, weight: float) -> None:
    """Set `model`'s weights to (1 - weight) x its own + weight x `other`'s, variable by variable.

    Weight-space ensembling of a fine-tuned model with the model it was fine-tuned from (WiSE-FT:
    Wortsman et al., "Robust fine-tuning of zero-shot models", CVPR 2022, arXiv:2109.01903). The
    paper blends a zero-shot model with its fine-tuned copy and finds the blend keeps most of the
    target gain while losing less under distribution shift. Both must have the same architecture
    (charset, channels, LSTM units); batch-norm statistics are averaged like the weights, integer
    state (Keras's seed generators) is left as it is. Variables pair by position: two builds of one
    architecture list them in the same order, while their names are numbered per build.
    """
    mine, theirs = model.variables, other.variables
    if len(mine) != len(theirs):
        raise ValueError(f"the models to blend differ in shape: {len(mine)} variables against {len(theirs)}")
    for own, their in zip(mine, theirs, strict=True):
        if own.shape != their.shape:
            raise ValueError(
                f"the models to blend differ in shape (another charset, --channels or --lstm-units): "
                f"{own.path} is {tuple(own.shape)}, against {tuple(their.shape)}"
            )
    for own, their in zip(mine, theirs, strict=True):
        if tf.as_dtype(own.dtype).is_floating:
            own.assign((1.0 - weight) * own + weight * their)


def main(argv: list[str] | None = None) -> None:
    from crnn import bigram, prior
    from crnn.train import load_model_from_run

    ap = argparse.ArgumentParser(description=__doc__)
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--run-dir", type=Path, help="training run dir (config + checkpoints)")
    source.add_argument(
        "--saved-model",
        type=Path,
        help="the weights of an earlier export (models/crnn/<version>), e.g. to export them with another "
        "--prior-weight; needs --width-stride",
    )
    ap.add_argument("--checkpoint", default=None, help="checkpoint prefix (default: latest in run dir)")
    ap.add_argument(
        "--width-stride", type=int, choices=(4, 2), help="with --saved-model: the stride it was trained with"
    )
    ap.add_argument(
        "--prior-weight",
        type=float,
        default=prior.WEIGHT,
        help=f"weight of the hanzi prior (crnn.prior; default {prior.WEIGHT}, 0: none)",
    )
    ap.add_argument(
        "--bigram-weight",
        type=float,
        default=bigram.WEIGHT,
        help=f"weight of the word-pair prior (crnn.bigram; default {bigram.WEIGHT}, 0: greedy readings)",
    )
    ap.add_argument(
        "--blend",
        type=Path,
        metavar="SAVED_MODEL",
        help="an earlier export of the same shape (models/crnn/<version>, typically the one the run "
        "started from) whose weights are averaged in, --blend-weight of them (crnn.export.blend_weights)",
    )
    ap.add_argument(
        "--blend-weight", type=float, default=None, help="share of --blend's weights, 0 to 1 (default 0.5)"
    )
    ap.add_argument("--models-dir", type=Path, default=Path("models"))
    ap.add_argument("--name", default="crnn")
    ap.add_argument("--version", type=int, default=None, help="default: next free version")
    args = ap.parse_args(argv)
    for name in ("prior_weight", "bigram_weight"):
        if getattr(args, name) < 0:
            flag = "--" + name.replace("_", "-")
            ap.error(f"{flag} must be 0 (no prior) or more, got {getattr(args, name)}")
    if args.blend_weight is not None and args.blend is None:
        ap.error("--blend-weight is the share of --blend's weights: give --blend SAVED_MODEL too")
    blend_weight = 0.5 if args.blend_weight is None else args.blend_weight
    if not 0.0 <= blend_weight <= 1.0:
        ap.error(f"--blend-weight is a share of --blend's weights, from 0 to 1; got {blend_weight}")
    if args.saved_model is not None:
        if args.width_stride is None:
            ap.error("--saved-model needs --width-stride (4 or 2: a SavedModel does not record it)")
        model, cs = _model_of_savedmodel(args.saved_model, args.width_stride)
        origin = str(args.saved_model)
    else:
        model, cs, step = load_model_from_run(args.run_dir, args.checkpoint)
        origin = f"step {step}"
    if args.blend is not None:
        # the stride shapes no variable: any builds the other's weights
        try:
            other, other_cs = _model_of_savedmodel(args.blend, stride_of(model))
            if other_cs.chars != cs.chars:
                raise ValueError("the models to blend read different charsets")
            blend_weights(model, other, blend_weight)
        except ValueError as exc:
            raise SystemExit(f"error: --blend {args.blend}: {exc}") from exc
        origin += f" blended with {args.blend} ({blend_weight} of it)"
    bias = None
    if args.prior_weight:
        bias = prior.prior_bias(cs, prior.real_counts(), prior.generated_counts(cs), args.prior_weight)
    pairs = bigram.pair_table(cs, bigram.real_pairs(), args.bigram_weight) if args.bigram_weight else None
    root = args.models_dir / args.name
    version = args.version if args.version is not None else next_version(root)
    out = export_model(model, cs.chars, root / str(version), bias, pairs)
    print(
        f"exported {origin} to {out} (hanzi prior weight {args.prior_weight}, "
        f"word-pair weight {args.bigram_weight})"
    )


if __name__ == "__main__":
    main()
