"""Model outputs -> text-line quads in original-image pixels, and their reading order."""

import numpy as np

from ctpn.anchors import STRIDE
from ctpn.connector import connect
from ctpn.proposals import text_proposals
from ctpn.refine import refine_quads


def _one(x: np.ndarray, ndim: int) -> np.ndarray:
    x = np.asarray(x)
    return x[0] if x.ndim == ndim + 1 else x


def page_outputs(outputs: dict[str, np.ndarray], prepared_shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """The first page's own output cells: one cell per STRIDE px of the prepared image it was given.

    A server that batches requests (TF Serving) pads a batch to its largest page, so the maps it
    returns can be larger than this page's H/16 x W/16; the extra cells are not this page's.
    """
    rows, cols = prepared_shape[0] // STRIDE, prepared_shape[1] // STRIDE
    return {name: np.asarray(value)[0, :rows, :cols] for name, value in outputs.items()}


class TooManyLines(ValueError):
    """More lines than the caller's `max_lines`: raised before they are fitted to the ink."""

    def __init__(self, count: int, max_lines: int) -> None:
        super().__init__(f"{count} text lines detected; the limit is {max_lines}")
        self.count, self.max_lines = count, max_lines


def detect_lines(
    outputs: dict[str, np.ndarray], image_rgb: np.ndarray, scale: float, max_lines: int | None = None
) -> list[np.ndarray]:
    """One image's outputs (batch dim removed or index 0) -> quads (4,2) float32 clockwise from TL.

    `max_lines`: raise TooManyLines as soon as the connected lines are more than that, before the
    per-line work (ink fitting, and the caller's crops and recognition) is spent on them.
    """
    cls_prob = _one(outputs["cls_prob"], 3)
    v_deltas = _one(outputs["v_deltas"], 4)
    side = _one(outputs["side_offsets"], 3)
    fh, fw = cls_prob.shape[:2]
    props = text_proposals(cls_prob, v_deltas, side, fh * STRIDE, fw * STRIDE)
    quads, _ = connect(props.boxes, props.scores, props.sides)
    if max_lines is not None and len(quads) > max_lines:
        raise TooManyLines(len(quads), max_lines)
    h, w = image_rgb.shape[:2]
    quads = [q / np.float32(scale) for q in quads]
    quads = refine_quads(image_rgb, quads, scale)
    out = []
    for q in quads:
        q = q.copy()
        q[:, 0] = np.clip(q[:, 0], 0, w - 1)
        q[:, 1] = np.clip(q[:, 1], 0, h - 1)
        out.append(q.astype(np.float32))
    return out


def reading_order(quads: list[np.ndarray]) -> list[int]:
    """Indices top-to-bottom by rows; lines whose centre lies within a row's first line join that row."""
    if not quads:
        return []
    q = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2)
    top, bottom = q[:, :, 1].min(1), q[:, :, 1].max(1)
    cy, x = (top + bottom) / 2, q[:, :, 0].min(1)
    rows: list[list[int]] = []
    for i in np.argsort(cy, kind="stable"):
        if rows and top[rows[-1][0]] <= cy[i] <= bottom[rows[-1][0]]:
            rows[-1].append(int(i))
        else:
            rows.append([int(i)])
    return [i for row in rows for i in sorted(row, key=lambda j: x[j])]
