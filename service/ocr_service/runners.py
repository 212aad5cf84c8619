"""Model runners: the only thing that differs between the `single` and `tfserving` modes.

Every runner takes and returns numpy arrays keyed by the signature names of docs/architecture.md.
String outputs (crnn `text`) come back as object arrays of Python `str`, decoded from UTF-8, from
every runner alike, so the pipeline never sees bytes. Runners raise `BackendUnavailable` or
`BackendTimeout`, never raw TensorFlow / grpc / requests errors, so the web app can answer 503/504.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import BackendTimeout, BackendUnavailable

MODEL_NAMES = ("ctpn", "crnn")
SIGNATURE_NAME = "serving_default"
# A 4000x3000 RGB page is 36 MB as a uint8 tensor; gRPC's 4 MiB default would reject it.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# gRPC's reconnect backoff grows to 120 s by default: after a TF Serving restart the channel would
# sit in TRANSIENT_FAILURE long after the server is back. Cap it so the same channel recovers in ~1 s.
GRPC_CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 5_000),
]


class ModelRunner(Protocol):
    def predict(self, model: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def ready(self) -> bool: ...  # every model loaded / AVAILABLE

    def close(self) -> None: ...


def _as_text(array: np.ndarray) -> np.ndarray:
    """Bytes tensors -> object arrays of str; numeric arrays unchanged."""
    if array.dtype.kind not in "OS":
        return array
    out = np.empty(array.shape, dtype=object)
    for index, value in np.ndenumerate(array):
        out[index] = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
    return out


# ---------------------------------------------------------------------------------------------------


class SavedModelRunner:
    """In-process SavedModels from `<model_dir>/<name>/<version>` (highest numeric dir by default).

    Models load on first use or on `ready()`, so a service can start before the models exist and
    report not-ready instead of crashing. Calling a loaded concrete function is thread-safe.
    """

    def __init__(
        self,
        model_dir: Path,
        versions: Mapping[str, int | None] = {},  # noqa: B006 - read-only
        *,
        models: Sequence[str] = MODEL_NAMES,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.versions = dict(versions)
        self.models = tuple(models)
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def version_dir(self, model: str) -> Path:
        base = self.model_dir / model
        pinned = self.versions.get(model)
        if pinned is not None:
            path = base / str(pinned)
            if not (path / "saved_model.pb").exists():
                raise BackendUnavailable(f"model {model!r} version {pinned} not found under {base}")
            return path
        candidates = [p for p in base.glob("*/saved_model.pb") if p.parent.name.isdigit()]
        if not candidates:
            raise BackendUnavailable(f"model {model!r}: no version directory with a SavedModel under {base}")
        return max(candidates, key=lambda p: int(p.parent.name)).parent

    def _signature(self, model: str):
        """(loaded object, serving_default function) of `model`, loaded once."""
        entry = self._loaded.get(model)
        if entry is not None:
            return entry
        if model not in self.models:
            raise BackendUnavailable(f"unknown model {model!r}; this runner serves {list(self.models)}")
        with self._lock:
            if model not in self._loaded:
                import tensorflow as tf

                path = self.version_dir(model)
                try:
                    loaded = tf.saved_model.load(str(path))
                    fn = loaded.signatures[SIGNATURE_NAME]
                except (OSError, KeyError, ValueError, tf.errors.OpError) as exc:
                    raise BackendUnavailable(f"cannot load {path}: {exc}") from exc
                self._loaded[model] = (loaded, fn)  # keep `loaded` alive: fn holds weak refs
            return self._loaded[model]

    def predict(self, model: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        import tensorflow as tf

        _, fn = self._signature(model)
        expected = set(fn.structured_input_signature[1])
        if set(inputs) != expected:
            raise BackendUnavailable(
                f"{model}: inputs {sorted(inputs)} do not match signature {sorted(expected)}"
            )
        try:
            outputs = fn(**{name: tf.constant(np.asarray(value)) for name, value in inputs.items()})
        except (tf.errors.OpError, TypeError, ValueError) as exc:
            raise BackendUnavailable(f"{model}: {exc}") from exc
        return {name: _as_text(tensor.numpy()) for name, tensor in outputs.items()}

    def ready(self) -> bool:
        try:
            for model in self.models:
                self._signature(model)
        except BackendUnavailable:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            self._loaded.clear()


# ---------------------------------------------------------------------------------------------------


class TFServingGrpcRunner:
    """TF Serving over gRPC: one persistent channel per process, a deadline on every call.

    The channel is created lazily and again after a fork (gunicorn workers must not share the
    master's channel). It reconnects by itself when TF Serving comes back; while it is down,
    calls fail fast with UNAVAILABLE (no wait_for_ready), which becomes a 503.
    """

    def __init__(
        self,
        target: str,
        timeout_s: float,
        versions: Mapping[str, int | None] = {},  # noqa: B006 - read-only
        *,
        models: Sequence[str] = MODEL_NAMES,
    ) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self.versions = dict(versions)
        self.models = tuple(models)
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._channel = None
        self._predict_stub = None
        self._model_stub = None

    def _stubs(self):
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    import grpc
                    from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

                    self._channel = grpc.insecure_channel(self.target, options=GRPC_CHANNEL_OPTIONS)
                    self._predict_stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
                    self._model_stub = model_service_pb2_grpc.ModelServiceStub(self._channel)
                    self._pid = os.getpid()
        return self._predict_stub, self._model_stub

    def _model_spec(self, spec, model: str) -> None:
        spec.name = model
        version = self.versions.get(model)
        if version is not None:
            spec.version.value = version

    def _error(self, exc, model: str) -> Exception:
        import grpc

        code = exc.code() if hasattr(exc, "code") else None
        details = exc.details() if hasattr(exc, "details") else str(exc)
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return BackendTimeout(f"TF Serving {self.target}: {model} took longer than {self.timeout_s:g} s")
        if code == grpc.StatusCode.UNAVAILABLE:
            return BackendUnavailable(f"TF Serving {self.target} unavailable: {details}")
        name = code.name if code is not None else type(exc).__name__
        return BackendUnavailable(f"TF Serving {self.target} {name} for {model}: {details}")

    def predict(self, model: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        import grpc
        from tensorflow_serving.apis import predict_pb2

        from .tfserving import ndarray_to_tensor_proto, tensor_proto_to_ndarray

        predict_stub, _ = self._stubs()
        request = predict_pb2.PredictRequest()
        self._model_spec(request.model_spec, model)
        request.model_spec.signature_name = SIGNATURE_NAME
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(ndarray_to_tensor_proto(value))
        try:
            response = predict_stub.Predict(request, timeout=self.timeout_s)
        except grpc.RpcError as exc:
            raise self._error(exc, model) from None
        return {name: _as_text(tensor_proto_to_ndarray(t)) for name, t in response.outputs.items()}

    def ready(self) -> bool:
        import grpc
        from tensorflow_serving.apis import get_model_status_pb2

        _, model_stub = self._stubs()
        for model in self.models:
            request = get_model_status_pb2.GetModelStatusRequest()
            self._model_spec(request.model_spec, model)
            try:
                response = model_stub.GetModelStatus(request, timeout=min(self.timeout_s, 2.0))
            except grpc.RpcError:
                return False
            available = get_model_status_pb2.ModelVersionStatus.AVAILABLE
            if not any(s.state == available for s in response.model_version_status):
                return False
        return True

    def close(self) -> None:
        with self._lock:
            if self._channel is not None and self._pid == os.getpid():
                self._channel.close()
            self._channel = self._predict_stub = self._model_stub = None
            self._pid = None


# ---------------------------------------------------------------------------------------------------


class TFServingRestRunner:
    """TF Serving's REST API: `:predict` in the columnar `inputs` format, strings as `{"b64": ...}`.

    JSON loses dtypes, so the runner reads each model's signature once from `/metadata` and casts
    the outputs back (float32 stays float32, bit for bit). `trust_env` is off: an HTTP proxy set for
    the container must not sit between the service and its TF Serving sidecar.
    """

    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        versions: Mapping[str, int | None] = {},  # noqa: B006 - read-only
        *,
        models: Sequence[str] = MODEL_NAMES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.versions = dict(versions)
        self.models = tuple(models)
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._session = None
        self._output_dtypes: dict[str, dict[str, np.dtype]] = {}

    def _http(self):
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    import requests
                    from requests.adapters import HTTPAdapter

                    session = requests.Session()
                    session.trust_env = False
                    session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=64))
                    session.mount("https://", HTTPAdapter(pool_connections=4, pool_maxsize=64))
                    self._session = session
                    self._pid = os.getpid()
        return self._session

    def _model_url(self, model: str) -> str:
        version = self.versions.get(model)
        suffix = f"/versions/{version}" if version is not None else ""
        return f"{self.base_url}/v1/models/{model}{suffix}"

    def _request(self, method: str, url: str, model: str, **kwargs) -> Any:
        import requests

        try:
            response = self._http().request(
                method, url, timeout=(min(self.timeout_s, 2.0), self.timeout_s), **kwargs
            )
        except requests.ConnectTimeout as exc:
            raise BackendUnavailable(f"TF Serving {self.base_url} unreachable: {exc}") from None
        except requests.Timeout:
            raise BackendTimeout(
                f"TF Serving {self.base_url}: {model} took longer than {self.timeout_s:g} s"
            ) from None
        except requests.RequestException as exc:
            raise BackendUnavailable(f"TF Serving {self.base_url} unavailable: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {"error": f"not a JSON object: {response.text[:200]!r}"}
            if response.status_code == 200:
                raise BackendUnavailable(f"TF Serving {self.base_url} for {model}: {body['error']}")
        if response.status_code in (408, 504):
            raise BackendTimeout(f"TF Serving {self.base_url}: {model}: {body.get('error', response.reason)}")
        if response.status_code != 200:
            message = body.get("error", response.reason)
            raise BackendUnavailable(
                f"TF Serving {self.base_url} HTTP {response.status_code} for {model}: {message}"
            )
        return body

    def _dtypes(self, model: str) -> dict[str, np.dtype]:
        if model not in self._output_dtypes:
            from .tfserving import numpy_dtype

            body = self._request("GET", self._model_url(model) + "/metadata", model)
            try:
                outputs = body["metadata"]["signature_def"]["signature_def"][SIGNATURE_NAME]["outputs"]
            except (KeyError, TypeError):
                raise BackendUnavailable(
                    f"TF Serving {self.base_url}: no {SIGNATURE_NAME} metadata for {model}"
                ) from None
            from tensorflow.core.framework import types_pb2

            self._output_dtypes[model] = {
                name: numpy_dtype(types_pb2.DataType.Value(info["dtype"])) for name, info in outputs.items()
            }
        return self._output_dtypes[model]

    def predict(self, model: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        dtypes = self._dtypes(model)
        payload = {
            "signature_name": SIGNATURE_NAME,
            "inputs": {name: _to_json(np.asarray(value)) for name, value in inputs.items()},
        }
        body = self._request("POST", self._model_url(model) + ":predict", model, json=payload)
        if "outputs" not in body:
            raise BackendUnavailable(f"TF Serving {self.base_url}: no outputs in the answer for {model}")
        outputs = body["outputs"]
        if not isinstance(outputs, dict) or len(dtypes) == 1 and set(outputs) != set(dtypes):
            outputs = {next(iter(dtypes)): outputs}  # TF Serving unwraps a single output
        return {name: _from_json(value, dtypes.get(name)) for name, value in outputs.items()}

    def ready(self) -> bool:
        for model in self.models:
            try:
                body = self._request("GET", self._model_url(model), model)
            except (BackendUnavailable, BackendTimeout):
                return False
            if not any(s.get("state") == "AVAILABLE" for s in body.get("model_version_status", [])):
                return False
        return True

    def close(self) -> None:
        with self._lock:
            if self._session is not None and self._pid == os.getpid():
                self._session.close()
            self._session = None
            self._pid = None


def _to_json(array: np.ndarray) -> Any:
    if array.dtype.kind in "USO":
        encode = np.vectorize(
            lambda v: {
                "b64": base64.b64encode(v.encode("utf-8") if isinstance(v, str) else bytes(v)).decode("ascii")
            },
            otypes=[object],
        )
        return encode(array).tolist() if array.size else array.tolist()
    return array.tolist()


def _from_json(value: Any, dtype: np.dtype | None) -> np.ndarray:
    if dtype is not None and dtype.kind == "O":
        decode = np.vectorize(
            lambda v: (
                base64.b64decode(v["b64"]).decode("utf-8", errors="replace") if isinstance(v, dict) else v
            ),
            otypes=[object],
        )
        array = np.array(value, dtype=object)
        return decode(array) if array.size else array
    return np.asarray(value, dtype=dtype)
