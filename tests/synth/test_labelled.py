"""Labelled folders (truth.json): what a user's own documents look like to evaluation and training."""

import json

import cv2
import numpy as np
import pytest
from ocr_synth.labelled import LabelledFolderError, load_folder

BOX = [[10, 10], [110, 10], [110, 40], [10, 40]]


def _folder(tmp_path, truth, images=("a.png",)):
    for name in images:
        cv2.imwrite(str(tmp_path / name), np.full((60, 200, 3), (0, 0, 255), np.uint8))  # red in BGR
    (tmp_path / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    return tmp_path


def test_pages_come_in_file_name_order_with_their_lines_and_rgb_images(tmp_path):
    folder = _folder(tmp_path, {"b.png": [], "a.png": [{"text": "TOTAL", "box": BOX}]}, ("a.png", "b.png"))
    pages = load_folder(folder)
    assert [p.name for p in pages] == ["a.png", "b.png"]
    assert pages[0].lines[0].text == "TOTAL" and pages[0].lines[0].quad.tolist() == BOX
    assert pages[0].image.shape == (60, 200, 3) and pages[0].image[0, 0].tolist() == [255, 0, 0]
    assert pages[0].gray().shape == (60, 200)
    assert [p.name for p in load_folder(folder, limit=1)] == ["a.png"]


@pytest.mark.parametrize(
    ("truth", "message"),
    [
        ({"a.png": [{"text": "X", "box": [[1, 2], [3, 4]]}]}, "four"),
        ({"a.png": [{"txt": "X", "box": BOX}]}, "line 0 must be"),
        ({"missing.png": []}, "not in"),
        ([1, 2], "must be an object"),
    ],
)
def test_a_malformed_folder_is_refused_with_what_to_fix(tmp_path, truth, message):
    with pytest.raises(LabelledFolderError, match=message):
        load_folder(_folder(tmp_path, truth))


def test_a_folder_without_truth_json_says_what_a_labelled_folder_is(tmp_path):
    with pytest.raises(LabelledFolderError, match="has no truth.json"):
        load_folder(tmp_path)
