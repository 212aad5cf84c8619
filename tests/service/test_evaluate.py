"""End-to-end scoring: the numbers behind every figure we report, checked by hand."""

import json

import numpy as np
import pytest
from ocr_service.evaluate import Score, match_lines, score_page, write_errors


def box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


TRUTH = [("发票号码：12345", box(10, 10, 210, 40)), ("合计 ¥99.00", box(10, 60, 160, 90))]


def test_perfect_page_scores_full_marks():
    s = score_page(TRUTH, TRUTH)
    assert (s.matched, s.gt_lines, s.pred_lines) == (2, 2, 2)
    assert s.f1 == 1.0 and s.cer_raw == 0.0 and s.cer_norm == 0.0 and s.line_acc_raw == 1.0


def test_one_substitution_counts_one_edit_over_all_reference_characters():
    predicted = [("发票号码：12346", box(12, 11, 208, 41)), TRUTH[1]]
    s = score_page(predicted, TRUTH)
    assert s.ref_chars_raw == 10 + 9
    assert s.edits_raw == 1
    assert s.cer_raw == pytest.approx(1 / 19)
    assert s.exact_raw == 1


def test_normalised_cer_forgives_full_width_punctuation_and_spaces():
    predicted = [("发票号码:12345", TRUTH[0][1]), ("合计¥99.00", TRUTH[1][1])]
    s = score_page(predicted, TRUTH)
    assert s.edits_raw == 2  # '：' vs ':' and the missing space
    assert s.edits_norm == 0
    assert s.line_acc_norm == 1.0 and s.line_acc_raw == 0.0


def test_box_too_wide_is_a_miss_and_its_text_an_insertion():
    # 2-character cell 30 px wide; a box 16 px too wide on each side has IoU 30/62 < 0.5
    truth = [("单价", box(100, 10, 130, 30))]
    predicted = [("单价", box(84, 10, 146, 30))]
    s = score_page(predicted, truth)
    assert s.matched == 0 and s.recall == 0.0 and s.precision == 0.0
    assert s.edits_raw == 2 + 2  # missed reference + spurious prediction
    assert s.cer_raw == 2.0


def test_scores_add_up_over_pages():
    total = Score()
    total += score_page(TRUTH, TRUTH)
    total += score_page([], TRUTH)
    assert total.pages == 2 and total.gt_lines == 4 and total.matched == 2
    assert total.recall == 0.5 and total.precision == 1.0
    assert total.cer_raw == pytest.approx(19 / 38)


def test_page_cer_forgives_a_different_line_segmentation_but_not_misreads():
    truth = [("部门", box(30, 10, 90, 40)), ("采购部", box(130, 10, 200, 40))]
    merged = [("部门 采购部", box(30, 10, 210, 40))]
    s = score_page(merged, truth)
    assert s.matched == 0 and s.cer_norm == 10 / 5  # line matching: 2 misses + 5 inserted chars
    assert s.page_edits_norm == 0 and s.page_cer_norm == 0.0
    misread = [("部门 采贩部", box(30, 10, 210, 40))]
    assert score_page(misread, truth).page_cer_norm == pytest.approx(1 / 5)


def test_page_text_follows_reading_order_not_list_order():
    shuffled = [TRUTH[1], TRUTH[0]]
    assert score_page(shuffled, TRUTH).page_edits_norm == 0


def test_every_line_is_reported_with_what_was_read_for_it():
    truth = [*TRUTH, ("单价", box(100, 120, 130, 140))]
    predicted = [("发票号码：12346", box(12, 11, 208, 41)), TRUTH[1], ("噪点", box(300, 300, 340, 320))]
    results = match_lines(predicted, truth)
    assert [(r.ref, r.hyp, r.edits_norm) for r in results] == [
        ("发票号码：12345", "发票号码：12346", 1),
        ("合计 ¥99.00", "合计 ¥99.00", 0),
        ("单价", None, 2),  # missed
        (None, "噪点", 2),  # spurious
    ]
    np.testing.assert_array_equal(results[2].quad, truth[2][1])


def test_errors_file_lists_the_lines_read_wrong_and_the_confusions(tmp_path):
    results = match_lines([("合计，¥99.00", TRUTH[1][1]), ("发票号码:I2345", TRUTH[0][1])], TRUTH)
    counts = write_errors(tmp_path / "errors.jsonl", [("clean", 0, r) for r in results])
    rows = [json.loads(line) for line in (tmp_path / "errors.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["half"], r["page"], r["ref"], r["read"], r["edits_norm"]) for r in rows] == [
        ("clean", 0, "发票号码：12345", "发票号码:I2345", 1),
        ("clean", 0, "合计 ¥99.00", "合计，¥99.00", 1),
    ]
    assert rows[0]["quad"] == TRUTH[0][1].tolist()
    assert counts == {("1", "I"): 1, ("", ","): 1}  # normalised: '：' is ':', '，' is ','
