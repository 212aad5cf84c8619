#!/usr/bin/env python3
"""A deliberately broken recogniser for the site drill (tests only): the SavedModel SRC with the
same signature, whose `text` output is "x" for every line. It loads, answers 200 and reads wrong,
which only a smoke test that checks the text catches.

    broken_model.py SRC DST     # e.g. models/crnn/2 -> <tmp>/models/crnn/3
"""

import sys

import tensorflow as tf


def main(src: str, dst: str) -> None:
    loaded = tf.saved_model.load(src)
    serve = loaded.signatures["serving_default"]
    specs = serve.structured_input_signature[1]

    class Broken(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.original = loaded  # keeps the variables alive and exported

        @tf.function(input_signature=[specs["images"], specs["widths"]])
        def serving_default(self, images, widths):
            outputs = serve(images=images, widths=widths)
            return {**outputs, "text": tf.fill(tf.shape(outputs["text"]), "x")}

    module = Broken()
    tf.saved_model.save(module, dst, signatures={"serving_default": module.serving_default})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
