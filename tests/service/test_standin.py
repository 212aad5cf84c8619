"""The TF Serving stand-in speaks TF Serving's documented REST and gRPC contracts.

If these drift from the real server, the runner tests prove nothing; each assertion here is a
documented TF Serving behaviour (REST API reference, gRPC protos).
"""

from __future__ import annotations

import base64

import grpc
import numpy as np
import pytest
import requests
from ocr_service.runners import TFServingRestRunner
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    prediction_service_pb2_grpc,
)


@pytest.fixture(scope="module")
def http():
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


def _images(widths):
    return np.full((len(widths), 32, max(widths), 1), 255, np.uint8).tolist()


def test_rest_model_status_lists_every_served_version_as_available(standin, http):
    body = http.get(f"{standin.rest_url}/v1/models/crnn", timeout=5).json()
    ok = {"error_code": "OK", "error_message": ""}
    assert body == {
        "model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": ok},
            {"version": "2", "state": "AVAILABLE", "status": ok},
        ]
    }
    pinned = http.get(f"{standin.rest_url}/v1/models/crnn/versions/1", timeout=5).json()
    assert pinned == {"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": ok}]}


def test_rest_metadata_describes_the_signature(standin, http):
    body = http.get(f"{standin.rest_url}/v1/models/crnn/versions/1/metadata", timeout=5).json()
    assert body["model_spec"] == {"name": "crnn", "signature_name": "", "version": "1"}
    signature = body["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["method_name"] == "tensorflow/serving/predict"
    assert signature["inputs"]["images"]["dtype"] == "DT_UINT8"
    assert [d["size"] for d in signature["inputs"]["images"]["tensor_shape"]["dim"]] == [
        "-1",
        "32",
        "-1",
        "1",
    ]
    assert {name: out["dtype"] for name, out in signature["outputs"].items()} == {
        "text": "DT_STRING",
        "confidence": "DT_FLOAT",
        "labels": "DT_INT32",
    }


def test_rest_predict_row_format_answers_predictions_per_instance(standin, http):
    instances = [{"images": image, "widths": w} for image, w in zip(_images([8, 8]), [8, 4], strict=True)]
    response = http.post(
        f"{standin.rest_url}/v1/models/crnn:predict", json={"instances": instances}, timeout=5
    )
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert [p["text"] for p in predictions] == ["v2·宽8", "v2·宽4"]
    assert [p["labels"] for p in predictions] == [[1, 2], [4, -1]]
    assert [p["confidence"] for p in predictions] == [0.0, 0.0]


def test_rest_predict_columnar_format_answers_outputs_by_name(standin, http):
    payload = {"signature_name": "serving_default", "inputs": {"images": _images([4]), "widths": [4]}}
    response = http.post(f"{standin.rest_url}/v1/models/crnn/versions/1:predict", json=payload, timeout=5)
    assert response.json() == {"outputs": {"text": ["v1·宽4"], "confidence": [0.0], "labels": [[4]]}}


def test_rest_b64_strings_round_trip_and_bytes_outputs_come_back_as_b64(standin, http):
    raw = [b"\x00\xffbinary", "宽".encode()]
    payload = {"instances": [{"b64": base64.b64encode(v).decode()} for v in raw]}  # single string input
    response = http.post(f"{standin.rest_url}/v1/models/echo:predict", json=payload, timeout=5)
    predictions = response.json()["predictions"]
    assert [base64.b64decode(p["data_bytes"]["b64"]) for p in predictions] == raw
    assert [p["length"] for p in predictions] == [8, 3]

    runner = TFServingRestRunner(standin.rest_url, 5.0, models=("echo",))
    outputs = runner.predict("echo", {"data": np.array(["宽度", "ab"], dtype=object)})
    assert outputs["data_bytes"].tolist() == ["宽度", "ab"]
    assert outputs["length"].dtype == np.int32 and outputs["length"].tolist() == [6, 2]
    runner.close()


@pytest.mark.parametrize(
    ("path", "body", "status", "fragment"),
    [
        ("/v1/models/nope:predict", {"instances": [1]}, 404, "nope"),
        ("/v1/models/crnn/versions/9:predict", {"instances": [1]}, 404, "9"),
        ("/v1/models/crnn:predict", {"inputs": {"images": _images([4])}}, 400, "widths"),
        ("/v1/models/crnn:predict", {"inputs": {}, "instances": []}, 400, "inputs"),
        ("/v1/models/echo:predict", {"instances": [{"b64": "%%%"}]}, 400, "base64"),
        ("/v1/models/crnn:explain", {"instances": [1]}, 404, "Malformed"),
    ],
)
def test_rest_errors_are_json_error_objects_with_4xx(standin, http, path, body, status, fragment):
    response = http.post(standin.rest_url + path, json=body, timeout=5)
    assert response.status_code == status
    error = response.json()
    assert list(error) == ["error"] and fragment in error["error"]


def test_rest_rejects_a_body_that_is_not_json(standin, http):
    response = http.post(f"{standin.rest_url}/v1/models/crnn:predict", data=b"{oops", timeout=5)
    assert response.status_code == 400 and "JSON" in response.json()["error"]


def test_grpc_metadata_and_status_follow_the_protos(standin):
    with grpc.insecure_channel(standin.grpc_target) as channel:
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = "ctpn"
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).GetModelMetadata(
            request, timeout=5
        )
        assert response.model_spec.version.value == 1
        signatures = get_model_metadata_pb2.SignatureDefMap()
        assert response.metadata["signature_def"].Unpack(signatures)
        serving = signatures.signature_def["serving_default"]
        assert list(serving.inputs) == ["image"]
        assert sorted(serving.outputs) == ["cls_prob", "side_offsets", "v_deltas"]

        status_request = get_model_status_pb2.GetModelStatusRequest()
        status_request.model_spec.name = "nope"
        with pytest.raises(grpc.RpcError) as error:
            model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(status_request, timeout=5)
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
