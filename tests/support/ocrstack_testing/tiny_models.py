"""Tiny stand-in SavedModels with the real signatures, that really "read" a simple test pattern.

Until the trained models are bundled under `models/`, the web tests serve these through the real
SavedModelRunner and Pipeline, so every pre/post-processing step runs for real. The pattern is one
row of black bars on white paper:

* `ctpn` is an oracle detector: in every 16 px column strip it finds the vertical extent of the ink
  and answers score 1 for the anchor of the best height in the cell row holding the ink's centre,
  with the exact CTPN (dy, dh) regression and side offsets towards the line's ends.
* `dbnet` is an oracle detector too: each row of bars is closed into one line, and its probability
  map is 1 on that line's kernel (the line's box shrunk by `dbnet.targets.SHRINK` of its height on
  every side, a line narrower than tall first widened to a square, as DB is trained), so
  `dbnet.postprocess` grows it back into the ink's box.
* `crnn` counts the ink runs (bars) along its crop and answers the text `bars:<count>`.

So an image whose orientation, channels, alpha or bit depth is mishandled reads differently (or not
at all), which is what the image edge-case tests need. Run as a script to export:

    python -m ocrstack_testing.tiny_models OUT_DIR      # writes OUT_DIR/{ctpn,dbnet,crnn}/1
"""

from __future__ import annotations

import sys
from pathlib import Path

ANCHOR_HEIGHTS = (11, 16, 23, 33, 48, 68, 97, 139, 198, 283)


def export(root: Path) -> None:
    import tensorflow as tf
    from dbnet.targets import SHRINK

    heights = tf.constant(ANCHOR_HEIGHTS, tf.float32)

    class InkCtpn(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
        def serve(self, image):
            shape = tf.shape(image)
            n, h, w = shape[0], shape[1], shape[2]
            rows, cols = h // 16, w // 16
            ink = tf.cast(tf.reduce_min(image, axis=-1) < 128, tf.float32)  # [N, H, W]
            row_ink = tf.reduce_max(tf.reshape(ink[:, :, : cols * 16], [n, h, cols, 16]), axis=3)  # [N,H,C]
            has_ink = tf.reduce_max(row_ink, axis=1)  # [N, C]
            top = tf.cast(tf.argmax(row_ink, axis=1), tf.float32)
            last = lambda a: tf.cast(tf.shape(a)[1] - 1, tf.int64) - tf.argmax(tf.reverse(a, [1]), axis=1)  # noqa: E731
            bottom = tf.cast(last(row_ink), tf.float32)
            cy = (top + bottom) / 2.0  # inclusive pixel coordinates, like ctpn.anchors
            hh = bottom - top + 1.0
            best_k = tf.argmin(tf.abs(tf.math.log(hh[..., None] / heights)), axis=-1)  # [N, C]
            row = tf.clip_by_value(tf.cast(tf.floor(cy / 16.0), tf.int32), 0, rows - 1)  # [N, C]
            row_hot = tf.transpose(tf.one_hot(row, rows), [0, 2, 1])  # [N, rows, C]
            cls_prob = row_hot[..., None] * tf.one_hot(best_k, 10)[:, None] * has_ink[:, None, :, None]

            anchor_cy = tf.cast(tf.range(rows), tf.float32) * 16.0 + 7.5
            dy = (cy[:, None, :, None] - anchor_cy[None, :, None, None]) / heights
            dh = tf.math.log(hh[:, None, :, None] / heights) + tf.zeros_like(dy)
            v_deltas = tf.stack([dy, dh], axis=-1)

            col_ink = tf.reduce_max(ink, axis=1)  # [N, W]
            left = tf.cast(tf.argmax(col_ink, axis=1), tf.float32)
            right = tf.cast(last(col_ink), tf.float32)
            cx = tf.cast(tf.range(cols), tf.float32) * 16.0 + 7.5  # [C]
            end = tf.where(
                tf.abs(cx - left[:, None]) <= tf.abs(cx - right[:, None]), left[:, None], right[:, None]
            )
            side = tf.where(tf.abs(cx - end) <= 32.0, (end - cx) / 16.0, 0.0)  # [N, C]
            side_offsets = side[:, None, :, None] + tf.zeros_like(cls_prob)
            return {"cls_prob": cls_prob, "v_deltas": v_deltas, "side_offsets": side_offsets}

    class InkDbnet(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
        def serve(self, image):
            ink = tf.cast(tf.reduce_min(image, axis=-1) < 128, tf.float32)[..., None]  # [N, H, W, 1]
            # each row of bars closed into one solid line: gaps under 33 px filled, ends kept
            grown = tf.nn.max_pool2d(ink, ksize=[1, 33], strides=1, padding="SAME")
            line = -tf.nn.max_pool2d(-grown, ksize=[1, 33], strides=1, padding="SAME")
            line = tf.cast(line[..., 0] > 0.5, tf.int32)  # [N, H, W]

            def run(mask, axis):  # 1-based position of each pixel in its run along `axis` (1: H, 2: W)
                there, back = ([1, 0, 2], [1, 0, 2]) if axis == 1 else ([2, 0, 1], [1, 2, 0])
                counted = tf.scan(lambda prev, row: (prev + 1) * row, tf.transpose(mask, there))
                return tf.transpose(counted, back)

            flip_h, flip_w = (lambda a: tf.reverse(a, [1])), (lambda a: tf.reverse(a, [2]))
            up, down = run(line, 1), flip_h(run(flip_h(line), 1))
            left, right = run(line, 2), flip_w(run(flip_w(line), 2))
            up, down, left, right = (tf.cast(d, tf.float32) for d in (up, down, left, right))
            height, width = up + down - 1.0, left + right - 1.0  # the line's, at each of its pixels
            # pixel centres SHRINK x height inside the line, a line narrower than tall taken as a
            # square around its centre (dbnet.targets.MIN_WIDTH)
            across = tf.minimum(up, down) - 0.5 >= SHRINK * height
            along = tf.abs(left - 0.5 - width / 2.0) <= tf.maximum(width, height) / 2.0 - SHRINK * height
            return {"prob": tf.cast((line > 0) & across & along, tf.float32)}

    class BarCrnn(tf.Module):
        @tf.function(
            input_signature=[tf.TensorSpec([None, 32, None, 1], tf.uint8), tf.TensorSpec([None], tf.int32)]
        )
        def serve(self, images, widths):
            ink = tf.reduce_min(images[..., 0], axis=1) < 128  # [N, W]: a column with any ink
            ink = tf.logical_and(ink, tf.sequence_mask(widths, tf.shape(images)[2]))
            ink = tf.cast(ink, tf.int32)
            starts = tf.reduce_sum(tf.cast(ink[:, 1:] > ink[:, :-1], tf.int32), axis=1) + ink[:, 0]
            text = tf.where(starts > 0, tf.strings.join(["bars:", tf.strings.as_string(starts)]), "")
            n = tf.shape(images)[0]
            return {
                "text": text,
                "confidence": tf.ones([n], tf.float32),
                "labels": tf.fill([n, 1], tf.constant(-1, tf.int32)),
            }

    for name, module in (("ctpn", InkCtpn()), ("dbnet", InkDbnet()), ("crnn", BarCrnn())):
        tf.saved_model.save(module, str(root / name / "1"), signatures={"serving_default": module.serve})


if __name__ == "__main__":
    export(Path(sys.argv[1]))
