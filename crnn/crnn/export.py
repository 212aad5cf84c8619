"""Export a trained CRNN as a TF Serving SavedModel (models/<name>/<version>/, `serving_default`).

Decoding and the charset lookup live inside the graph, and all outputs are dense (TF Serving cannot
return a SparseTensor). Contract: docs/architecture.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import tensorflow as tf

from crnn.decode import char_positions, greedy_decode, labels_to_text
from crnn.network import HEIGHT, sequence_lengths, stride_of


class CrnnServing(tf.Module):
    """Wraps the Keras model with decoding; its `serving` function is the exported signature."""

    def __init__(self, model: tf.keras.Model, chars: tuple[str, ...]):
        super().__init__(name="crnn_serving")
        self.model = model
        self._chars = tuple(chars)
        self._stride = stride_of(model)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, HEIGHT, None, 1], tf.uint8, name="images"),
            tf.TensorSpec([None], tf.int32, name="widths"),
        ]
    )
    def serving(self, images: tf.Tensor, widths: tf.Tensor) -> dict[str, tf.Tensor]:
        logits = self.model([images, widths], training=False)
        lengths = tf.minimum(sequence_lengths(widths, self._stride), tf.shape(logits)[1])
        labels, conf = greedy_decode(logits, lengths)
        text = labels_to_text(labels, self._chars)
        char_steps, char_confidence = char_positions(logits, lengths)
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


def export_model(model: tf.keras.Model, chars: tuple[str, ...], out_dir: Path) -> Path:
    """Write the SavedModel with signature `serving_default` to ``out_dir``."""
    module = CrnnServing(model, chars)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tf.saved_model.save(
        module, str(out_dir), signatures={"serving_default": module.serving.get_concrete_function()}
    )
    return out_dir


def main(argv: list[str] | None = None) -> None:
    from crnn.train import load_model_from_run

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run-dir", type=Path, required=True, help="training run dir (config + checkpoints)")
    ap.add_argument("--checkpoint", default=None, help="checkpoint prefix (default: latest in run dir)")
    ap.add_argument("--models-dir", type=Path, default=Path("models"))
    ap.add_argument("--name", default="crnn")
    ap.add_argument("--version", type=int, default=None, help="default: next free version")
    args = ap.parse_args(argv)
    model, cs, step = load_model_from_run(args.run_dir, args.checkpoint)
    root = args.models_dir / args.name
    version = args.version if args.version is not None else next_version(root)
    out = export_model(model, cs.chars, root / str(version))
    print(f"exported step {step} to {out}")


if __name__ == "__main__":
    main()
