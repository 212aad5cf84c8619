"""The three runners agree, honour version pins, and turn a down or slow TF Serving into 503/504."""

from __future__ import annotations

import time

import numpy as np
import pytest
from ocr_service import deadline as request_deadline
from ocr_service.errors import BackendError, BackendTimeout, BackendUnavailable
from ocr_service.runners import SavedModelRunner, TFServingGrpcRunner, TFServingRestRunner

EXPECTED_CRNN_V2_TEXT = ["v2·宽24", "v2·宽9", ""]
TINY = ("ctpn", "crnn")  # the runners' models here: the tiny ones of conftest (a detector and a recogniser)


def _runners(tiny_models, standin, versions=None, timeout_s=10.0):
    versions = versions or {}
    return {
        "savedmodel": SavedModelRunner(tiny_models, versions=versions, models=TINY),
        "grpc": TFServingGrpcRunner(standin.grpc_target, timeout_s, versions=versions, models=TINY),
        "rest": TFServingRestRunner(standin.rest_url, timeout_s, versions=versions, models=TINY),
    }


def test_saved_model_runner_serves_latest_version_with_text_as_str(tiny_models, crnn_inputs, ctpn_inputs):
    runner = SavedModelRunner(tiny_models, models=TINY)
    crnn = runner.predict("crnn", crnn_inputs)
    assert crnn["text"].dtype == object
    assert crnn["text"].tolist() == EXPECTED_CRNN_V2_TEXT
    np.testing.assert_allclose(crnn["confidence"], [1 / 3, 0.0, 1.0], rtol=1e-6)
    assert crnn["labels"].dtype == np.int32
    assert crnn["labels"].tolist() == [[3, 4, 5, 6, 7, 8], [2, 3, -1, -1, -1, -1], [-1] * 6]

    ctpn = runner.predict("ctpn", ctpn_inputs)
    assert ctpn["cls_prob"].shape == (1, 2, 3, 10)
    assert ctpn["v_deltas"].shape == (1, 2, 3, 10, 2)
    assert ctpn["side_offsets"].shape == (1, 2, 3, 10)
    np.testing.assert_allclose(ctpn["cls_prob"][0, 0, 0], 1.0 - np.arange(10) / 10, rtol=1e-6)
    assert ctpn["cls_prob"][0, 1].max() == 0.0
    assert runner.ready()


def test_saved_model_runner_not_ready_without_models(tmp_path, crnn_inputs):
    runner = SavedModelRunner(tmp_path)
    assert not runner.ready()
    with pytest.raises(BackendUnavailable, match="no version directory"):
        runner.predict("crnn", crnn_inputs)


def test_grpc_and_rest_return_exactly_what_the_saved_model_returns(
    tiny_models, standin, crnn_inputs, ctpn_inputs
):
    runners = _runners(tiny_models, standin)
    results = {
        name: (runner.predict("crnn", crnn_inputs), runner.predict("ctpn", ctpn_inputs))
        for name, runner in runners.items()
    }
    reference = results.pop("savedmodel")
    for name, outputs in results.items():
        for expected, got in zip(reference, outputs, strict=True):
            assert set(got) == set(expected), name
            for key in expected:
                assert got[key].dtype == expected[key].dtype, (name, key)
                assert got[key].shape == expected[key].shape, (name, key)
                assert np.array_equal(got[key], expected[key]), (name, key)
    assert results["grpc"][0]["text"].tolist() == EXPECTED_CRNN_V2_TEXT
    for runner in runners.values():
        assert runner.ready()
        runner.close()


def test_version_pin_is_honoured_by_every_runner(tiny_models, standin, crnn_inputs):
    for name, runner in _runners(tiny_models, standin, versions={"crnn": 1}).items():
        assert runner.predict("crnn", crnn_inputs)["text"].tolist() == ["v1·宽24", "v1·宽9", ""], name
        runner.close()


def test_pin_to_a_version_that_is_not_served_is_unavailable(tiny_models, standin, crnn_inputs):
    for name, runner in _runners(tiny_models, standin, versions={"crnn": 7}).items():
        with pytest.raises(BackendUnavailable, match="7"):
            runner.predict("crnn", crnn_inputs)
        assert not runner.ready(), name
        runner.close()


def test_wrong_inputs_are_500_backend_errors_not_503_outages(tiny_models, standin):
    # TF Serving's INVALID_ARGUMENT (gRPC) / 400 (REST): the backend is up and refused this call.
    # A 503 would tell the load balancer and clients to retry elsewhere, where it fails the same way.
    for name, runner in _runners(tiny_models, standin).items():
        with pytest.raises(BackendError, match="widths") as caught:
            runner.predict("crnn", {"images": np.zeros((1, 32, 8, 1), np.uint8)})
        assert caught.value.http_status == 500, name
        assert not isinstance(caught.value, BackendUnavailable), name
        runner.close()


def test_tfserving_down_returns_503_fast_and_the_same_runner_recovers(tiny_models, standin, crnn_inputs):
    grpc_runner = TFServingGrpcRunner(standin.grpc_target, 10.0, models=TINY)
    rest_runner = TFServingRestRunner(standin.rest_url, 10.0, models=TINY)
    for runner in (grpc_runner, rest_runner):
        assert runner.predict("crnn", crnn_inputs)["text"].tolist() == EXPECTED_CRNN_V2_TEXT

    standin.stop()
    for runner in (grpc_runner, rest_runner):
        started = time.monotonic()
        with pytest.raises(BackendUnavailable):
            runner.predict("crnn", crnn_inputs)
        assert time.monotonic() - started < 2.0, type(runner).__name__
        assert not runner.ready()

    standin.start()  # same ports; the runners above are not recreated
    for runner in (grpc_runner, rest_runner):
        deadline = time.monotonic() + 10.0
        while True:
            try:
                outputs = runner.predict("crnn", crnn_inputs)
                break
            except BackendUnavailable:
                assert time.monotonic() < deadline, f"{type(runner).__name__} did not reconnect"
                time.sleep(0.1)
        assert outputs["text"].tolist() == EXPECTED_CRNN_V2_TEXT
        assert runner.ready()
        runner.close()


@pytest.mark.parametrize(
    ("call_timeout_s", "request_left_s"),
    [(0.5, None), (10.0, 0.5)],  # the runner's own bound; the request's deadline (OCR_TIMEOUT_S)
)
def test_slow_tfserving_raises_backend_timeout_at_the_deadline(standin, call_timeout_s, request_left_s):
    data = {"data": np.array(["x"], dtype=object)}  # `slow` answers 2 s late
    for runner in (
        TFServingGrpcRunner(standin.grpc_target, call_timeout_s, models=("slow",)),
        TFServingRestRunner(standin.rest_url, call_timeout_s, models=("slow",)),
    ):
        started = time.monotonic()
        with request_deadline.scope(request_left_s or 60.0), pytest.raises(BackendTimeout):
            runner.predict("slow", data)
        assert 0.3 < time.monotonic() - started < 1.5, type(runner).__name__
        if request_left_s is not None:  # nothing left of the request's deadline: no call starts
            with request_deadline.scope(0.001):
                time.sleep(0.01)
                started = time.monotonic()
                with pytest.raises(BackendTimeout, match="OCR_TIMEOUT_S"):
                    runner.predict("slow", data)
                assert time.monotonic() - started < 0.1
        runner.close()


def test_every_runner_says_which_version_answered(tiny_models, standin, crnn_inputs):
    for pins, expected in (({}, "2"), ({"crnn": 1}, "1")):
        for name, runner in _runners(tiny_models, standin, versions=pins).items():
            runner.predict("crnn", crnn_inputs)
            assert runner.served_version("crnn") == expected, (name, pins)
            runner.close()


def test_a_new_version_directory_is_served_by_the_latest_policy_without_a_restart(
    tiny_models, tmp_path, crnn_inputs
):
    """What playbooks/models.yml relies on in mode tfserving: TF Serving's file-system polling
    (--file_system_poll_wait_seconds) and latest{1} policy, as the stand-in implements them."""
    import shutil

    from ocrstack_testing.standin import StandIn

    models = tmp_path / "models"
    for name in ("ctpn", "crnn"):
        shutil.copytree(tiny_models / name / "1", models / name / "1")
    config = tmp_path / "models.config"
    config.write_text(
        "model_config_list {\n"
        + "".join(
            f'  config {{ name: "{n}" base_path: "{models / n}" model_platform: "tensorflow" }}\n'
            for n in ("ctpn", "crnn")
        )
        + "}\n"
    )
    server = StandIn(config, tmp_path / "standin.log", ready_models=TINY)
    server.start()
    runner = TFServingGrpcRunner(server.grpc_target, 10.0, models=TINY)

    def wait_for(text: str) -> None:
        deadline = time.monotonic() + 15
        while runner.predict("crnn", crnn_inputs)["text"].tolist()[0] != text:
            assert time.monotonic() < deadline, f"never served {text!r}"
            time.sleep(0.2)

    try:
        assert runner.predict("crnn", crnn_inputs)["text"].tolist()[0] == "v1·宽24"
        shutil.copytree(tiny_models / "crnn" / "2", models / "crnn" / "2")
        wait_for("v2·宽24")
        assert runner.served_version("crnn") == "2"
        shutil.rmtree(models / "crnn" / "2")  # a rollback: the policy goes back to version 1
        wait_for("v1·宽24")
        assert runner.served_version("crnn") == "1"
    finally:
        runner.close()
        server.stop()
