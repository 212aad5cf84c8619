"""Issue 14 item 2: pages sent at 90, 180 or 270 degrees are read upright (OCR_ORIENT=on).

The geometry and the vote are numpy-only; the service cases run the bundled models (models/ctpn,
crnn and orient) in both modes, in-process (Flask test client; mode tfserving against the TF
Serving stand-in serving the same three SavedModels), on a page of several lines of text.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest
from ocr_service import orientation
from ocr_service.settings import Settings, load_settings
from ocrstack_testing.web import bundled_models_present, encode, text_page
from PIL import Image

# --- geometry and vote (no models) -----------------------------------------------------------------


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_a_point_on_the_upright_page_maps_to_the_same_pixel_of_the_page_as_sent(k):
    upright = np.zeros((30, 50), np.uint8)
    upright[7, 12] = 255  # row 7, column 12: the pixel whose centre is (12.5, 7.5)
    sent = np.rot90(upright, k)
    quad = np.array([[12.5, 7.5]] * 4, np.float32)
    (x, y), *_ = orientation.quad_to_sent(quad, k, sent.shape[1], sent.shape[0])
    assert sent[int(y), int(x)] == 255
    assert orientation.upright(sent, k).tolist() == upright.tolist()


def test_the_vote_turns_a_page_only_when_it_is_clear():
    upright, turned = [0.7, 0.1, 0.1, 0.1], [0.05, 0.05, 0.85, 0.05]
    assert orientation.vote(np.array([turned] * 3))[0] == 2
    assert orientation.vote(np.array([turned, upright, upright]))[0] == 0  # 2 upright of 3
    assert orientation.vote(np.array([[0.3, 0.1, 0.5, 0.1]]))[0] == 0  # 0.5 vs 0.3: not clear
    assert orientation.vote(np.zeros((0, 4))) == (0, 0.0)  # nothing to vote on


def test_patches_are_the_inked_tiles_of_the_page_and_none_of_a_blank_one():
    blank = np.full((600, 800, 3), 255, np.uint8)
    assert orientation.page_patches(blank).shape == (0, orientation.PATCH, orientation.PATCH, 1)
    page = blank.copy()
    page[100:130, 100:500] = 0  # one dark band
    patches = orientation.page_patches(page)
    assert 0 < len(patches) <= orientation.MAX_PATCHES
    assert patches.dtype == np.float32 and patches.min() >= 0 and patches.max() == 1.0


def test_orientation_is_off_by_default_and_on_from_its_setting():
    assert Settings().orient is False
    assert load_settings({"OCR_ORIENT": "on"}).orient is True


# --- the service, both modes, bundled models ------------------------------------------------------------


SERVED = Settings(orient=True).models  # the default detector, the recogniser and orient


def squeeze(text: str) -> str:
    return "".join(text.split())  # the recogniser may read a space or not between 00 and 元


@pytest.fixture(scope="module", params=["single", "tfserving"])
def oriented(request, tmp_path_factory):
    """(test client, runner) of a service with OCR_ORIENT=on over the bundled models."""
    from ocr_service.app import create_app, default_runner_factory
    from ocrstack_testing.standin import StandIn, models_config
    from ocrstack_testing.web import BUNDLED_MODELS

    if not (BUNDLED_MODELS / "orient" / "1" / "saved_model.pb").is_file():
        pytest.skip("needs the bundled models, models/orient/1 included")
    env = {"OCR_MODE": request.param, "OCR_MODEL_DIR": str(BUNDLED_MODELS), "OCR_ORIENT": "on",
           "OCR_TIMEOUT_S": "60"}  # fmt: skip
    standin = None
    if request.param == "tfserving":
        tmp = tmp_path_factory.mktemp("orient_standin")
        config = tmp / "models.config"
        config.write_text(models_config(BUNDLED_MODELS, SERVED))
        standin = StandIn(config, tmp / "standin.log", ready_models=SERVED)
        standin.start()
        env["OCR_TFSERVING_GRPC"] = standin.grpc_target
    app = create_app(load_settings(env), runner_factory=default_runner_factory)
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    yield client
    if standin is not None:
        standin.stop()


@pytest.fixture(scope="module")
def page_and_upright_answer(oriented):
    page, texts = text_page()
    body = oriented.post("/v1/ocr", data=encode(page), headers={"Content-Type": "image/png"}).get_json()
    return page, texts, body


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_a_page_sent_turned_is_read_upright_with_boxes_in_the_image_as_sent(
    oriented, page_and_upright_answer, k
):
    page, texts, upright = page_and_upright_answer
    read_upright = [line["text"] for line in upright["lines"]]
    assert upright["rotation"] == 0 and [squeeze(t) for t in read_upright] == [squeeze(t) for t in texts]
    sent = np.rot90(np.asarray(page), k)  # turned k quarter turns counter-clockwise
    response = oriented.post(
        "/v1/ocr", data=encode(Image.fromarray(sent)), headers={"Content-Type": "image/png"}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["rotation"] == 90 * k  # the clockwise turn that made it upright
    assert (body["width"], body["height"]) == (sent.shape[1], sent.shape[0])
    assert [line["text"] for line in body["lines"]] == read_upright
    assert set(body["models"]) == set(SERVED)
    for line, reference in zip(body["lines"], upright["lines"], strict=True):
        expected = orientation.quad_to_sent(np.array(reference["box"]), k, sent.shape[1], sent.shape[0])
        assert np.abs(np.array(line["box"]) - expected).max() <= 2.0  # the same ink, in the image as sent
        xs, ys = np.array(line["box"])[:, 0], np.array(line["box"])[:, 1]
        assert sent[int(ys.min()) : int(ys.max()), int(xs.min()) : int(xs.max())].min() < 100  # ink inside


def test_pdf_pages_say_their_rotation(oriented, page_and_upright_answer):
    from ocrstack_testing.pdf import image_pdf

    page, _, upright = page_and_upright_answer
    texts = [line["text"] for line in upright["lines"]]
    turned = Image.fromarray(np.rot90(np.asarray(page), 2))
    body = oriented.post(
        "/v1/ocr", data=image_pdf([page, turned], dpi=150), headers={"Content-Type": "application/pdf"}
    ).get_json()
    assert [p["rotation"] for p in body["pages"]] == [0, 180]
    # the PDF's pages are the page re-encoded: compare without the spaces the recogniser may drop
    expected = [squeeze(t) for t in texts]
    assert [[squeeze(line["text"]) for line in p["lines"]] for p in body["pages"]] == [expected, expected]


def test_a_line_printed_upside_down_on_an_upright_page_is_read_turned_over(oriented):
    page, texts = text_page()
    pixels = np.asarray(page).copy()
    top, bottom = 40 + 95 * 2 - 10, 40 + 95 * 2 + 50  # the third line's band, turned in place
    pixels[top:bottom] = pixels[top:bottom][::-1, ::-1]
    response = oriented.post(
        "/v1/ocr", data=encode(Image.fromarray(pixels)), headers={"Content-Type": "image/png"}
    )
    body = response.get_json()
    assert body["rotation"] == 0  # the page is upright: only the line is not
    assert [squeeze(line["text"]) for line in body["lines"]] == [squeeze(t) for t in texts]
    box = np.array(body["lines"][2]["box"])
    assert box[0, 0] > box[2, 0] and box[0, 1] > box[2, 1]  # its text starts at the bottom-right corner
    assert top <= box[:, 1].min() and box[:, 1].max() <= bottom


def test_the_legacy_endpoint_reads_a_turned_page_upright_too(oriented, page_and_upright_answer):
    page, _, upright = page_and_upright_answer
    turned = Image.fromarray(np.rot90(np.asarray(page), 3))
    payload = {"img": base64.b64encode(encode(turned)).decode()}
    response = oriented.post("/ocr", json=payload)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["rotation"] == 270 and "orient" in body["models"]
    assert [w["word"] for w in body["prism_wordsInfo"]] == [line["text"] for line in upright["lines"]]


def test_without_the_setting_answers_have_no_rotation_and_orient_is_not_needed(tmp_path):
    from ocr_service.app import create_app
    from ocrstack_testing.web import BUNDLED_MODELS

    if not bundled_models_present():
        pytest.skip("needs the bundled models")
    for name in Settings().models:  # a model directory without orient, as before this release
        (tmp_path / name).symlink_to(BUNDLED_MODELS / name)
    client = create_app(load_settings({"OCR_MODE": "single", "OCR_MODEL_DIR": str(tmp_path)})).test_client()
    assert client.get("/readyz").status_code == 200
    page, texts = text_page()
    body = client.post("/v1/ocr", data=encode(page), headers={"Content-Type": "image/png"}).get_json()
    assert "rotation" not in body and set(body["models"]) == set(Settings().models)
    assert [squeeze(line["text"]) for line in body["lines"]] == [squeeze(t) for t in texts]
