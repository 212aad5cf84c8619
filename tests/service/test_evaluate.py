"""End-to-end scoring: the numbers behind every figure we report, checked by hand."""

import json

import numpy as np
import pytest
from ocr_tools.evaluate import (
    FontScore,
    Score,
    evaluate,
    format_fonts,
    labelled_set,
    match_lines,
    page_text,
    page_text_in_truth_order,
    photographed_engine,
    score_page,
    write_errors,
)


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


def test_page_text_orders_rows_of_12_px_then_x_and_ignores_case_and_spaces():
    # centres at y 25 and y 20 fall in one 12 px row band (round(25/12) == round(20/12) == 2): x decides
    lines = [
        ("total", box(200, 10, 260, 40)),
        ("Sub Total", box(10, 5, 90, 35)),
        ("rm 9", box(10, 60, 60, 80)),
    ]
    assert page_text(lines) == "SUBTOTALTOTALRM9"


def test_page_cer_in_the_truths_order_forgives_a_row_band_crossed_but_not_misreads():
    # POPULAR BOOK is one label, centre y 24 (band 2); read as two words whose boxes sit 7 px lower
    # and 7 px higher, centres 31 and 17 fall in bands 3 and 1: BOOK comes first in the page text
    truth = [("POPULAR BOOK", box(10, 10, 300, 38)), ("TOTAL 5.75", box(10, 60, 300, 88))]
    read = [
        ("POPULAR", box(10, 17, 180, 45)),
        ("BOOK", box(200, 3, 300, 31)),
        ("TOTAL 5.75", box(10, 60, 300, 88)),
    ]
    assert page_text(read) == "BOOKPOPULARTOTAL5.75"
    s = score_page(read, truth)
    assert s.page_edits_norm == 8  # BOOKPOPULAR against POPULARBOOK
    assert s.page_edits_truth_order == 0 and s.page_cer_truth_order == 0.0
    misread = [("P0PULAR", read[0][1]), read[1], read[2], ("X", box(400, 200, 420, 220))]
    s = score_page(misread, truth)
    assert page_text_in_truth_order(misread, truth) == "P0PULARBOOKTOTAL5.75X"  # the stray X: its own place
    assert s.page_edits_truth_order == 2  # O->0 and the inserted X
    assert page_text_in_truth_order([], truth) == "" and page_text_in_truth_order(read, []) == page_text(read)


def test_character_f1_counts_the_characters_of_each_page_as_a_multiset():
    truth = [("TOTAL 12.50", box(10, 10, 200, 40))]
    read = [("T0TAL", box(10, 10, 100, 40)), ("12.50 X", box(110, 10, 200, 40))]
    s = score_page(read, truth)
    # reference TOTAL12.50 (10 chars); read T0TAL12.50X (11): 9 in common (one O read as 0, an extra X)
    assert (s.chars_common, s.chars_read, s.chars_ref) == (9, 11, 10)
    assert s.char_precision == pytest.approx(9 / 11) and s.char_recall == pytest.approx(9 / 10)
    assert s.char_f1 == pytest.approx(2 * (9 / 11) * (9 / 10) / (9 / 11 + 9 / 10))
    assert s.page_edits_norm == 2  # O->0 and the inserted X


def test_a_labelled_folder_is_scored_page_by_page_at_every_iou_asked(tmp_path):
    import cv2

    page = np.full((100, 300, 3), 255, np.uint8)
    cv2.imwrite(str(tmp_path / "r1.png"), page)
    cv2.imwrite(str(tmp_path / "r2.png"), page)
    truth = {"r1.png": [{"text": "TOTAL", "box": box(10, 10, 110, 40).tolist()}],
             "r2.png": [{"text": "CASH", "box": box(10, 50, 90, 80).tolist()}]}  # fmt: skip
    (tmp_path / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    docs = labelled_set(tmp_path)
    assert [(half, doc.lines[0].text) for half, doc in docs] == [
        (tmp_path.name, "TOTAL"),
        (tmp_path.name, "CASH"),
    ]

    # an engine that finds TOTAL 10 px too wide (IoU 100/110: matched at 0.5, not at 0.95) and never CASH
    answers = [[("TOTAL", box(10, 10, 120, 40))], []]

    def engine(image):
        assert image.shape == (100, 300, 3)
        return answers.pop(0)

    scores, _ = evaluate(engine, docs, progress=False, iou_thresholds=(0.5, 0.95))
    assert set(scores) == {tmp_path.name, "all", "all@0.95"}
    assert scores["all"].pages == 2 and scores["all"].matched == 1 and scores["all"].gt_lines == 2
    assert scores["all@0.95"].matched == 0
    assert scores["all"].page_edits_norm == 4  # CASH never read


def test_generated_lines_are_scored_per_typeface_that_drew_them():
    from ocr_synth import documents

    docs = [("heldout", doc) for doc in documents.generate(12345, 3, "heldout", degrade=False)]
    families = {line.font for _, doc in docs for line in doc.lines}
    assert families and families <= {"WenQuanYi Zen Hei", "TW-Sung", "Lato"}, families
    victim = sorted(families)[0]

    def engine(image):  # reads every line right except those of one family, which it reads as "x"
        doc = next(doc for _, doc in docs if doc.image is image)
        return [("x" if line.font == victim else line.text, line.quad) for line in doc.lines]

    fonts: dict[str, FontScore] = {}
    evaluate(engine, docs, progress=False, iou_thresholds=(0.5, 0.3), by_font=fonts)
    assert set(fonts) == families
    assert fonts[victim].cer_norm > 0.5 and all(fonts[f].cer_norm == 0.0 for f in families - {victim})
    drawn = sum(1 for _, doc in docs for line in doc.lines if line.font == victim)
    assert fonts[victim].lines == drawn
    table = format_fonts({"ocrstack": fonts}, 0.3)
    assert victim in table and "IoU 0.3" in table


def test_labelled_pages_have_no_typeface_rows(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "r1.png"), np.full((100, 300, 3), 255, np.uint8))
    truth = {"r1.png": [{"text": "TOTAL", "box": box(10, 10, 110, 40).tolist()}]}
    (tmp_path / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    fonts: dict[str, FontScore] = {}
    evaluate(
        lambda image: [("TOTAL", box(10, 10, 110, 40))], labelled_set(tmp_path), progress=False, by_font=fonts
    )
    assert fonts == {}


def test_with_truth_boxes_the_engine_is_given_each_pages_boxes_and_scored_on_its_reading(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "r1.png"), np.full((100, 300, 3), 255, np.uint8))
    truth = {"r1.png": [{"text": "TOTAL", "box": box(10, 10, 110, 40).tolist()},
                        {"text": "12.50", "box": box(150, 10, 250, 40).tolist()}]}  # fmt: skip
    (tmp_path / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    given = []

    def engine(image, quads):  # reads the first box right, the second one as 12.60
        given.append(quads)
        return [("TOTAL", quads[0]), ("12.60", quads[1])]

    scores, _ = evaluate(engine, labelled_set(tmp_path), progress=False, truth_boxes=True)
    (quads,) = given
    np.testing.assert_array_equal(np.asarray(quads), [box(10, 10, 110, 40), box(150, 10, 250, 40)])
    assert scores["all"].f1 == 1.0 and scores["all"].page_edits_norm == 1


@pytest.mark.parametrize(
    ("size", "photo_shape"),
    [
        ((400, 300), (500, 480, 3)),  # the table: 1.25x the page's height, 1.6x its width
        ((4000, 3000), (3564, 3421, 3)),  # ... no larger than a 12 MP phone camera's photo
    ],
)
def test_a_photographed_page_is_turned_and_shrunk_on_a_dark_table_and_its_boxes_come_back(size, photo_shape):
    import cv2

    page = np.full((*size, 3), 255, np.uint8)
    page[100:140, 50:250] = 0  # one black "line" of text
    seen = []

    def engine(image):  # finds the black bar, as a detector would: its rotated rectangle
        dark = (image.min(axis=2) < 10).astype(np.uint8)
        _, labels, stats, _ = cv2.connectedComponentsWithStats(dark)
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        quad = cv2.boxPoints(cv2.minAreaRect(cv2.findNonZero((labels == biggest).astype(np.uint8))))
        seen.append((image, quad))
        return [("line", quad)]

    (text, quad), = photographed_engine(engine)(page)
    photo, in_photo = seen[0]
    assert photo.shape == photo_shape
    assert np.median(photo[:20, :20]) < 100  # a dark table around the page
    corners = sorted(map(tuple, np.round(quad).astype(int).tolist()))
    assert text == "line"
    # back in the page's pixels: the bar's corners within 2 px (pixel centres, resampling)
    assert np.abs(np.array(corners) - np.array([(50, 100), (50, 139), (249, 100), (249, 139)])).max() <= 2
    # not the page as it was: shrunk (the bar is smaller than 200 x 40 px in the photo)
    assert cv2.contourArea(in_photo) < 0.85 * 200 * 40
    photographed_engine(engine)(page)
    assert (seen[1][0] == photo).all()  # every engine, every run: the same photo of a page
