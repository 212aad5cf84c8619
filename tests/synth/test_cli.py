import json

import numpy as np
from ocr_synth import cli, documents
from PIL import Image


def test_docs_command_writes_png_and_json_matching_generate(tmp_path):
    cli.main(["docs", "--seed", "7", "--count", "2", "--split", "eval", "--out", str(tmp_path)])
    expected = list(documents.generate(7, 2, "eval"))
    for i, doc in enumerate(expected):
        img = np.asarray(Image.open(tmp_path / f"{i:06d}.png").convert("RGB"))
        np.testing.assert_array_equal(img, doc.image)
        gt = json.loads((tmp_path / f"{i:06d}.json").read_text(encoding="utf-8"))
        assert [g["text"] for g in gt] == [ln.text for ln in doc.lines]
        np.testing.assert_allclose([g["quad"] for g in gt], [ln.quad for ln in doc.lines], atol=0.01)


def test_lines_command_writes_labels(tmp_path):
    cli.main(["lines", "--seed", "1", "--count", "3", "--out", str(tmp_path)])
    records = [json.loads(x) for x in (tmp_path / "labels.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["file"] for r in records] == ["000000.png", "000001.png", "000002.png"]
    for r in records:
        assert r["text"] and len(r["quad"]) == 4
        assert Image.open(tmp_path / r["file"]).mode == "RGB"
