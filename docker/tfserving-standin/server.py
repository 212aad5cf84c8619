"""A stand-in for TensorFlow Serving: the same SavedModels over the same gRPC and REST contracts.

It is NOT TensorFlow Serving. TF Serving cannot be installed on the development and CI machines,
so the runners' protocol code is tested against this: models named in a real `models.config`,
gRPC PredictionService.Predict / GetModelMetadata and ModelService.GetModelStatus, and the REST
API (`/v1/models/<name>[/versions/<v>]`, `/metadata`, `:predict` with `instances` or `inputs`,
`{"b64": ...}`, `{"error": ...}`). See README.md for what it leaves out.

    python docker/tfserving-standin/server.py --model-config-file models.config \
        --port 8500 --rest-api-port 8501
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from concurrent import futures
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format, text_format
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)
from tensorflow_serving.config import model_server_config_pb2

log = logging.getLogger("tfserving_standin")
DEFAULT_SIGNATURE = "serving_default"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class ServingError(Exception):
    """A failure with the gRPC code TF Serving would use; REST maps it to an HTTP status."""

    HTTP = {
        grpc.StatusCode.INVALID_ARGUMENT: HTTPStatus.BAD_REQUEST,
        grpc.StatusCode.NOT_FOUND: HTTPStatus.NOT_FOUND,
        grpc.StatusCode.FAILED_PRECONDITION: HTTPStatus.BAD_REQUEST,
        grpc.StatusCode.UNIMPLEMENTED: HTTPStatus.NOT_IMPLEMENTED,
    }

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    @property
    def http_status(self) -> int:
        return self.HTTP.get(self.code, HTTPStatus.INTERNAL_SERVER_ERROR)


class Servable:
    """One loaded version of one model, plus its SignatureDefs read from saved_model.pb."""

    def __init__(self, name: str, version: int, path: Path) -> None:
        self.name, self.version, self.path = name, version, path
        saved_model = saved_model_pb2.SavedModel()
        saved_model.ParseFromString((path / "saved_model.pb").read_bytes())
        self.signature_defs = dict(saved_model.meta_graphs[0].signature_def)
        self.signature_defs.pop("__saved_model_init_op", None)
        self.loaded = tf.saved_model.load(str(path))

    def run(self, signature_name: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        signature_name = signature_name or DEFAULT_SIGNATURE
        if signature_name not in self.loaded.signatures:
            raise ServingError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f'Serving signature name: "{signature_name}" not found in signature def',
            )
        signature_def = self.signature_defs[signature_name]
        missing = set(signature_def.inputs) - set(inputs)
        extra = set(inputs) - set(signature_def.inputs)
        if missing or extra:
            raise ServingError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"input tensor alias mismatch: missing {sorted(missing)}, unknown {sorted(extra)}",
            )
        tensors = {}
        for alias, value in inputs.items():
            dtype = tf.dtypes.as_dtype(signature_def.inputs[alias].dtype)
            try:
                tensors[alias] = tf.constant(value, dtype=dtype)
            except (TypeError, ValueError) as exc:
                raise ServingError(grpc.StatusCode.INVALID_ARGUMENT, f"input {alias!r}: {exc}") from None
        try:
            outputs = self.loaded.signatures[signature_name](**tensors)
        except (tf.errors.InvalidArgumentError, TypeError, ValueError) as exc:
            raise ServingError(grpc.StatusCode.INVALID_ARGUMENT, str(exc).splitlines()[0]) from None
        return {alias: tensor.numpy() for alias, tensor in outputs.items()}


class Models:
    """The servables of a models.config, loaded per its model_version_policy.

    Like TF Serving's file-system source and its AvailabilityPreservingPolicy
    (tensorflow_serving/model_servers/main.cc, tensorflow_serving/core/availability_preserving_policy.h):
    `refresh()` (every --file_system_poll_wait_seconds) loads newly aspired versions first and only
    then drops the ones no longer aspired, and never drops the last available version of a model.
    """

    def __init__(self, config: model_server_config_pb2.ModelServerConfig) -> None:
        self.servables: dict[str, dict[int, Servable]] = {}
        self._configs = list(config.model_config_list.config)
        self._failed: set[tuple[str, int]] = set()
        for model in self._configs:
            if model.model_platform not in ("", "tensorflow"):
                raise ValueError(f"{model.name}: platform {model.model_platform!r} is not tensorflow")
        self.refresh(initial=True)

    @staticmethod
    def _aspired(model) -> list[int]:
        base = Path(model.base_path)
        found = sorted(
            int(p.name) for p in base.iterdir() if p.name.isdigit() and (p / "saved_model.pb").exists()
        )
        policy = model.model_version_policy.WhichOneof("policy_choice") or "latest"
        if policy == "all":
            return found
        if policy == "specific":
            return [v for v in found if v in set(model.model_version_policy.specific.versions)]
        return found[-max(1, model.model_version_policy.latest.num_versions) :]

    def refresh(self, initial: bool = False) -> None:
        for model in self._configs:
            base = Path(model.base_path)
            aspired = self._aspired(model)
            if initial and not aspired:
                raise ValueError(f"{model.name}: no servable version under {base} for its policy")
            current = dict(self.servables.get(model.name, {}))
            for version in aspired:
                if version in current or (model.name, version) in self._failed:
                    continue
                try:
                    current[version] = Servable(model.name, version, base / str(version))
                    log.info("loaded %s version %d from %s", model.name, version, base)
                except Exception as exc:  # a broken SavedModel: keep serving what is loaded
                    if initial:
                        raise
                    self._failed.add((model.name, version))
                    log.error("%s version %d failed to load: %s", model.name, version, exc)
            keep = {v: s for v, s in current.items() if v in aspired}
            self.servables[model.name] = keep or current  # never drop the last available version
            self._failed = {f for f in self._failed if f[0] != model.name or f[1] in aspired}

    def get(self, name: str, version: int | None) -> Servable:
        versions = self.servables.get(name)
        if versions is None:
            raise ServingError(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: Latest({name})")
        if version is None:
            return versions[max(versions)]
        if version not in versions:
            raise ServingError(
                grpc.StatusCode.NOT_FOUND, f"Servable not found for request: Specific({name}, {version})"
            )
        return versions[version]

    def status(self, name: str, version: int | None) -> list[Servable]:
        servable = self.get(name, version)
        return (
            [servable]
            if version is not None
            else [self.servables[name][v] for v in sorted(self.servables[name])]
        )


def _spec_version(model_spec) -> int | None:
    if model_spec.version_label:
        raise ServingError(grpc.StatusCode.UNIMPLEMENTED, "the stand-in does not implement version labels")
    return model_spec.version.value if model_spec.HasField("version") else None


# --- gRPC ----------------------------------------------------------------------------------------


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, models: Models, delay: Callable[[str], None]) -> None:
        self.models, self.delay = models, delay

    def Predict(self, request, context):  # noqa: N802 - gRPC method name
        try:
            servable = self.models.get(request.model_spec.name, _spec_version(request.model_spec))
            inputs = {alias: tf.make_ndarray(proto) for alias, proto in request.inputs.items()}
            self.delay(servable.name)
            outputs = servable.run(request.model_spec.signature_name, inputs)
        except ServingError as exc:
            context.abort(exc.code, exc.message)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = servable.name
        response.model_spec.version.value = servable.version
        response.model_spec.signature_name = request.model_spec.signature_name or DEFAULT_SIGNATURE
        for alias, value in outputs.items():
            if not request.output_filter or alias in request.output_filter:
                response.outputs[alias].CopyFrom(tf.make_tensor_proto(value))
        return response

    def GetModelMetadata(self, request, context):  # noqa: N802 - gRPC method name
        try:
            if list(request.metadata_field) != ["signature_def"]:
                raise ServingError(
                    grpc.StatusCode.INVALID_ARGUMENT, "Metadata field signature_def is required"
                )
            servable = self.models.get(request.model_spec.name, _spec_version(request.model_spec))
        except ServingError as exc:
            context.abort(exc.code, exc.message)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = servable.name
        response.model_spec.version.value = servable.version
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for name, signature_def in servable.signature_defs.items():
            signature_map.signature_def[name].CopyFrom(signature_def)
        response.metadata["signature_def"].Pack(signature_map)
        return response


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, models: Models) -> None:
        self.models = models

    def GetModelStatus(self, request, context):  # noqa: N802 - gRPC method name
        try:
            servables = self.models.status(request.model_spec.name, _spec_version(request.model_spec))
        except ServingError as exc:
            context.abort(exc.code, exc.message)
        return _status_response(servables)


def _status_response(servables: list[Servable]) -> get_model_status_pb2.GetModelStatusResponse:
    response = get_model_status_pb2.GetModelStatusResponse()
    for servable in servables:
        status = response.model_version_status.add(version=servable.version)
        status.state = get_model_status_pb2.ModelVersionStatus.AVAILABLE
        status.status.SetInParent()  # error_code OK, error_message "", printed as TF Serving does
    return response


# --- REST ----------------------------------------------------------------------------------------

_PATH = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?(?P<rest>/metadata|:predict)?$"
)


def _decode_b64(value):
    """`{"b64": "..."}` -> bytes, recursively; other values unchanged."""
    if isinstance(value, dict):
        if set(value) != {"b64"}:
            raise ServingError(
                grpc.StatusCode.INVALID_ARGUMENT, f'JSON object {sorted(value)} is not {{"b64": ...}}'
            )
        try:
            return base64.b64decode(value["b64"], validate=True)
        except ValueError:
            raise ServingError(grpc.StatusCode.INVALID_ARGUMENT, "Unable to base64 decode") from None
    if isinstance(value, list):
        return [_decode_b64(v) for v in value]
    return value


def _to_json_value(alias: str, array: np.ndarray):
    """Output tensors as TF Serving writes them: strings as text, as b64 if the alias ends in _bytes."""
    if array.dtype.kind in "OS":
        as_b64 = alias.endswith("_bytes")
        convert = np.vectorize(
            lambda v: (
                {"b64": base64.b64encode(v).decode()} if as_b64 else v.decode("utf-8", errors="replace")
            ),
            otypes=[object],
        )
        return convert(array).tolist() if array.size else array.tolist()
    return array.tolist()


def _parse_predict_body(body, servable: Servable) -> tuple[str, dict[str, object], bool]:
    if not isinstance(body, dict):
        raise ServingError(grpc.StatusCode.INVALID_ARGUMENT, "JSON Value not an object")
    signature_name = body.get("signature_name", DEFAULT_SIGNATURE)
    if ("instances" in body) == ("inputs" in body):
        raise ServingError(grpc.StatusCode.INVALID_ARGUMENT, "Missing 'inputs' or 'instances' key")
    signature_def = servable.signature_defs.get(signature_name)
    aliases = sorted(signature_def.inputs) if signature_def else []
    if "inputs" in body:  # columnar
        inputs = body["inputs"]
        if not isinstance(inputs, dict):
            if len(aliases) != 1:
                raise ServingError(
                    grpc.StatusCode.INVALID_ARGUMENT, "inputs must be an object of named inputs"
                )
            inputs = {aliases[0]: inputs}
        return signature_name, {k: _decode_b64(v) for k, v in inputs.items()}, False
    instances = body["instances"]  # row format: one entry per batch element
    if not isinstance(instances, list) or not instances:
        raise ServingError(grpc.StatusCode.INVALID_ARGUMENT, "'instances' must be a non-empty list")
    if all(isinstance(i, dict) and set(i) != {"b64"} for i in instances):
        keys = set(instances[0])
        if any(set(i) != keys for i in instances):
            raise ServingError(
                grpc.StatusCode.INVALID_ARGUMENT, "instances must all have the same named inputs"
            )
        return signature_name, {k: [_decode_b64(i[k]) for i in instances] for k in keys}, True
    if len(aliases) != 1:
        raise ServingError(
            grpc.StatusCode.INVALID_ARGUMENT, "unnamed instances need a single-input signature"
        )
    return signature_name, {aliases[0]: _decode_b64(instances)}, True


def make_rest_handler(models: Models, delay: Callable[[str], None]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "tfserving-standin"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
            log.debug(format, *args)

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self):
            match = _PATH.match(self.path.split("?", 1)[0])
            if match is None:
                raise ServingError(
                    grpc.StatusCode.NOT_FOUND, f"Malformed request: {self.command} {self.path}"
                )
            version = int(match["version"]) if match["version"] else None
            return match["name"], version, match["rest"] or ""

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            try:
                name, version, rest = self._route()
                if rest == ":predict":
                    raise ServingError(grpc.StatusCode.INVALID_ARGUMENT, "predict needs POST")
                if rest == "/metadata":
                    servable = models.get(name, version)
                    signature_map = get_model_metadata_pb2.SignatureDefMap()
                    for sig_name, signature_def in servable.signature_defs.items():
                        signature_map.signature_def[sig_name].CopyFrom(signature_def)
                    payload = {
                        "model_spec": {"name": name, "signature_name": "", "version": str(servable.version)},
                        "metadata": {
                            "signature_def": json_format.MessageToDict(
                                signature_map, preserving_proto_field_name=True
                            )
                        },
                    }
                else:
                    payload = json_format.MessageToDict(
                        _status_response(models.status(name, version)),
                        always_print_fields_with_no_presence=True,
                        preserving_proto_field_name=True,
                    )
            except ServingError as exc:
                return self._send(exc.http_status, {"error": exc.message})
            self._send(HTTPStatus.OK, payload)

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                name, version, rest = self._route()
                if rest != ":predict":
                    raise ServingError(
                        grpc.StatusCode.INVALID_ARGUMENT, f"Malformed request: POST {self.path}"
                    )
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    raise ServingError(grpc.StatusCode.INVALID_ARGUMENT, f"JSON Parse error: {exc}") from None
                servable = models.get(name, version)
                signature_name, inputs, row_format = _parse_predict_body(body, servable)
                delay(servable.name)
                outputs = servable.run(signature_name, inputs)
            except ServingError as exc:
                return self._send(exc.http_status, {"error": exc.message})
            if row_format:
                if len(outputs) == 1:
                    ((alias, value),) = outputs.items()
                    predictions = _to_json_value(alias, value)
                else:
                    columns = {alias: _to_json_value(alias, value) for alias, value in outputs.items()}
                    batch = len(next(iter(columns.values())))
                    predictions = [{alias: col[i] for alias, col in columns.items()} for i in range(batch)]
                return self._send(HTTPStatus.OK, {"predictions": predictions})
            columns = {alias: _to_json_value(alias, value) for alias, value in outputs.items()}
            self._send(
                HTTPStatus.OK, {"outputs": columns if len(columns) > 1 else next(iter(columns.values()))}
            )

    return Handler


# --- entry point ---------------------------------------------------------------------------------


def _existing_file(value: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value}: no such file")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="TF Serving stand-in for tests (not TF Serving)")
    # TF Serving spells its flags with underscores; both spellings are accepted, so the compose stacks
    # start this image and the real one with the same command line.
    parser.add_argument(
        "--model-config-file", "--model_config_file", type=Path, required=True,
        help="ModelServerConfig text proto",
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=8500, help="gRPC port")
    parser.add_argument(
        "--rest-api-port", "--rest_api_port", type=int, default=8501, help="REST port, 0 to disable"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (TF Serving binds 0.0.0.0)")
    # Accepted and checked like TF Serving does at start (a missing file is fatal), then ignored:
    # the stand-in does not batch, warm up or export monitoring (README: what it does NOT implement).
    for flag in ("--batching_parameters_file", "--monitoring_config_file"):
        parser.add_argument(flag, type=_existing_file, help="checked to exist, otherwise ignored")
    for flag in ("--enable_batching", "--enable_model_warmup"):
        parser.add_argument(flag, choices=("true", "false"), help="accepted, ignored")
    parser.add_argument(
        "--file_system_poll_wait_seconds", "--file-system-poll-wait-seconds", type=int, default=1,
        help="seconds between scans of the model base paths for new versions (TF Serving: 1); 0: never",
    )  # fmt: skip
    parser.add_argument("--delay-ms", type=int, default=0, help="test only: sleep before each predict")
    parser.add_argument("--delay-model", action="append", help="test only: delay only these models")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="standin %(levelname)s %(message)s")

    config = text_format.Parse(
        args.model_config_file.read_text(), model_server_config_pb2.ModelServerConfig()
    )
    models = Models(config)

    def delay(model_name: str) -> None:
        if args.delay_ms and (not args.delay_model or model_name in args.delay_model):
            time.sleep(args.delay_ms / 1000)

    options = [
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=options)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(models, delay), server
    )
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(models), server)
    server.add_insecure_port(f"{args.host}:{args.port}")
    server.start()
    log.info("gRPC on %s:%d", args.host, args.port)

    rest = None
    if args.rest_api_port:
        ThreadingHTTPServer.allow_reuse_address = True
        ThreadingHTTPServer.daemon_threads = True
        rest = ThreadingHTTPServer((args.host, args.rest_api_port), make_rest_handler(models, delay))
        threading.Thread(target=rest.serve_forever, daemon=True).start()
        log.info("REST on %s:%d", args.host, args.rest_api_port)

    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(args.file_system_poll_wait_seconds):
            try:
                models.refresh()
            except Exception:  # a base path gone for a moment: keep serving, scan again
                log.exception("scanning the model base paths failed")

    if args.file_system_poll_wait_seconds > 0:
        threading.Thread(target=poll, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    if rest is not None:
        rest.shutdown()
        rest.server_close()
    server.stop(grace=0).wait()
    logging.shutdown()
    os._exit(0)  # skip TensorFlow's slow interpreter teardown: tests restart this process often


if __name__ == "__main__":
    raise SystemExit(main())
