"""detect_lines on perfect network outputs (made from the training targets) recovers the ground truth."""

import numpy as np
import pytest
from ctpn.metrics import detection_prf
from ctpn.postprocess import detect_lines
from ctpn.preprocess import prepare
from ctpn.targets import anchor_targets
from ocrstack_testing import standin_docs


def perfect_outputs(quads: np.ndarray, image: np.ndarray) -> tuple[dict, float]:
    img, scale = prepare(image)
    rng = np.random.default_rng(0)
    fh, fw = img.shape[0] // 16, img.shape[1] // 16
    t = anchor_targets(quads * scale, fh, fw, rng, batch_size=10**9, pos_fraction=1)
    out = {"cls_prob": t.v_mask[None], "v_deltas": t.v_targets[None], "side_offsets": t.side_targets[None]}
    return out, scale


def test_detect_lines_on_perfect_outputs_matches_the_standin_ground_truth():
    doc = standin_docs.render_document(np.random.default_rng(3))
    gt = np.array([line.quad for line in doc.lines])
    out, scale = perfect_outputs(gt, doc.image)
    quads = detect_lines(out, doc.image, scale)
    assert all(q.shape == (4, 2) and q.dtype == np.float32 for q in quads)
    m = detection_prf(quads, gt)
    assert m["recall"] == 1.0 and m["precision"] >= 0.95, m


@pytest.mark.parametrize("degrade", [False, True])
def test_detect_lines_on_perfect_outputs_matches_ocr_synth_ground_truth(degrade):
    documents = pytest.importorskip("ocr_synth.documents")
    tp = fp = fn = 0
    for i in range(6):
        doc = documents.render_document(np.random.default_rng([7, i]), split="eval", degrade=degrade)
        gt = np.array([line.quad for line in doc.lines])
        out, scale = perfect_outputs(gt, doc.image)
        m = detection_prf(detect_lines(out, doc.image, scale), gt)
        tp, fp, fn = tp + m["tp"], fp + m["fp"], fn + m["fn"]
    assert tp / (tp + fp) >= 0.98 and tp / (tp + fn) >= 0.98, (tp, fp, fn)
