"""Issue 12: the line detector is a setting (OCR_DETECTOR): CTPN (`models/ctpn`) or DB (`models/dbnet`).

The service cases run the bundled models in both modes, in-process (Flask test client; mode
tfserving against the TF Serving stand-in serving the same SavedModels), on a page of five lines.
"""

from __future__ import annotations

import pytest
from ocr_service.settings import Settings, SettingsError, load_settings
from ocrstack_testing.web import BUNDLED_MODELS, encode, newest_versions, text_page


def squeeze(text: str) -> str:
    return "".join(text.split())  # the recogniser may read a space or not between 00 and 元


def test_the_detector_is_a_setting_with_two_values_and_a_clear_refusal():
    assert Settings().detector == "dbnet" and Settings().models == ("dbnet", "crnn")
    assert load_settings({"OCR_DETECTOR": "DBNet "}).models == ("dbnet", "crnn")
    assert load_settings({"OCR_DETECTOR": "ctpn", "OCR_ORIENT": "on"}).models == ("ctpn", "crnn", "orient")
    refusal = "OCR_DETECTOR='east' is not valid: allowed values are 'ctpn' or 'dbnet'"
    with pytest.raises(SettingsError, match=refusal):
        load_settings({"OCR_DETECTOR": "east"})
    assert load_settings({"OCR_MODEL_VERSION_DBNET": "1"}).model_versions["dbnet"] == 1


def _needs_bundled(*names: str) -> None:
    missing = [n for n in names if not (BUNDLED_MODELS / n / "1" / "saved_model.pb").is_file()]
    if missing:
        pytest.skip(f"needs the bundled models ({', '.join(missing)})")


@pytest.fixture(scope="module", params=[("ctpn", "single"), ("dbnet", "single"), ("ctpn", "tfserving"),
                                        ("dbnet", "tfserving")], ids=lambda p: "-".join(p))  # fmt: skip
def service(request, tmp_path_factory):
    """(test client, detector) of a service over the bundled models with OCR_DETECTOR set."""
    from ocr_service.app import create_app
    from ocrstack_testing.standin import StandIn, models_config

    detector, mode = request.param
    _needs_bundled(detector, "crnn")
    env = {"OCR_MODE": mode, "OCR_MODEL_DIR": str(BUNDLED_MODELS), "OCR_DETECTOR": detector,
           "OCR_TIMEOUT_S": "60"}  # fmt: skip
    standin = None
    if mode == "tfserving":
        tmp = tmp_path_factory.mktemp("detector_standin")
        config = tmp / "models.config"
        config.write_text(models_config(BUNDLED_MODELS, (detector, "crnn")))
        standin = StandIn(config, tmp / "standin.log", ready_models=(detector, "crnn"))
        standin.start()
        env["OCR_TFSERVING_GRPC"] = standin.grpc_target
    client = create_app(load_settings(env)).test_client()
    assert client.get("/readyz").status_code == 200
    yield client, detector
    if standin is not None:
        standin.stop()


def test_each_detector_reads_the_page_and_the_answer_names_it(service):
    client, detector = service
    page, texts = text_page()
    response = client.post("/v1/ocr", data=encode(page), headers={"Content-Type": "image/png"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [squeeze(line["text"]) for line in body["lines"]] == [squeeze(t) for t in texts]
    assert body["models"] == newest_versions(BUNDLED_MODELS, (detector, "crnn"))  # this detector only
    for row, line in enumerate(body["lines"]):  # each box holds its own line of the page (40 + 95 row)
        ys = [y for _, y in line["box"]]
        assert 40 + 95 * row - 8 <= min(ys) and max(ys) <= 40 + 95 * row + 48


def test_a_service_set_to_a_detector_it_cannot_find_is_not_ready_and_says_which(tmp_path):
    from ocr_service.app import create_app

    _needs_bundled("ctpn", "crnn")
    for name in ("ctpn", "crnn"):  # a model directory of an earlier release: no dbnet
        (tmp_path / name).symlink_to(BUNDLED_MODELS / name)
    env = {"OCR_MODE": "single", "OCR_MODEL_DIR": str(tmp_path), "OCR_DETECTOR": "dbnet"}
    client = create_app(load_settings(env)).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "model 'dbnet': no version directory with a SavedModel" in response.get_data(as_text=True)
