"""Model runners: the only thing that differs between the `single` and `tfserving` modes.

Every runner takes and returns numpy arrays keyed by the signature names of docs/architecture.md.
String outputs (crnn `text`) come back as object arrays of Python `str`, decoded from UTF-8, from
every runner alike (`ocr_service.codec` converts every wire format), so the pipeline never sees
bytes. Every model call gets what is left of the request's deadline (`ocr_service.deadline`).
Each runner's connection (models, gRPC channel, HTTP session) is a `PerProcess` value: built
on first use in each gunicorn worker, never shared across a fork. Runners raise `BackendUnavailable` or
`BackendTimeout` or `BackendError`, never raw TensorFlow / grpc / requests errors, so the web app
can answer 503 (an outage: go elsewhere, come back), 504 (out of time) or 500 (the backend is up
but refused this call: INVALID_ARGUMENT, RESOURCE_EXHAUSTED, out of memory; see service/README).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from . import deadline
from .errors import BackendError, BackendTimeout, BackendUnavailable
from .perprocess import PerProcess
from .settings import Settings

MODEL_NAMES = Settings().models  # the default service's: its detector and the recogniser
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

    # The version of `model` that answered this thread's last predict() ("1", "2"), None if unknown.
    # The answers carry it (OcrResult.models): a rollout can tell which version read a page.
    def served_version(self, model: str) -> str | None: ...


class _ServedVersions(threading.local):
    """Per thread: gunicorn's threads share a runner, each reports the version of its own call."""

    def __init__(self) -> None:
        self.versions: dict[str, str] = {}


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
        gpu_memory_mib: int | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.backend = str(self.model_dir)
        self.versions = dict(versions)
        self.models = tuple(models)
        self.gpu_memory_mib = gpu_memory_mib
        self.device: str | None = None  # set when the first model loads: "GPU:0 (...)" or "CPU"
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def served_version(self, model: str) -> str | None:
        """The version directory loaded in this process (loaded once: a new one needs a restart)."""
        entry = self._loaded.get(model)
        return entry[2] if entry is not None else None

    def version_dir(self, model: str) -> Path:
        base = self.model_dir / model
        pinned = self.versions.get(model)
        if pinned is not None:
            path = base / str(pinned)
            if not (path / "saved_model.pb").exists():
                raise BackendUnavailable(
                    f"model {model!r} version {pinned} not found", detail=f"under {base}"
                )
            return path
        candidates = [p for p in base.glob("*/saved_model.pb") if p.parent.name.isdigit()]
        if not candidates:
            raise BackendUnavailable(
                f"model {model!r}: no version directory with a SavedModel", detail=f"under {base}"
            )
        return max(candidates, key=lambda p: int(p.parent.name)).parent

    def _signature(self, model: str):
        """(loaded object, serving_default function) of `model`, loaded once."""
        entry = self._loaded.get(model)
        if entry is not None:
            return entry[:2]
        if model not in self.models:
            raise BackendUnavailable(f"unknown model {model!r}; this runner serves {list(self.models)}")
        with self._lock:
            if model not in self._loaded:
                import tensorflow as tf

                from . import device

                if self.device is None:
                    _configure_devices_once(self.gpu_memory_mib)
                    self.device = device.describe()
                path = self.version_dir(model)
                try:
                    loaded = tf.saved_model.load(str(path))
                    fn = loaded.signatures[SIGNATURE_NAME]
                except (OSError, KeyError, ValueError, tf.errors.OpError) as exc:
                    raise BackendUnavailable(
                        f"model {model!r} cannot be loaded", detail=f"{path}: {exc}"
                    ) from exc
                # keep `loaded` alive: fn holds weak refs
                self._loaded[model] = (loaded, fn, path.name)
            return self._loaded[model][:2]

    def predict(self, model: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        import tensorflow as tf

        from .codec import as_text

        _, fn = self._signature(model)
        expected = set(fn.structured_input_signature[1])
        if set(inputs) != expected:
            raise BackendError(f"{model}: inputs {sorted(inputs)} do not match signature {sorted(expected)}")
        # An in-process call cannot be interrupted: none starts once the request's deadline is spent.
        deadline.call_timeout(float("inf"), f"the {model} call")
        try:
            outputs = fn(**{name: tf.constant(np.asarray(value)) for name, value in inputs.items()})
        except (tf.errors.InvalidArgumentError, tf.errors.ResourceExhaustedError) as exc:
            raise BackendError(
                f"{model} refused the call ({type(exc).__name__})", detail=exc.message
            ) from exc
        except (tf.errors.OpError, TypeError, ValueError) as exc:
            raise BackendUnavailable(f"{model} failed", detail=str(exc)) from exc
        return {name: as_text(tensor.numpy()) for name, tensor in outputs.items()}

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
        self.backend = f"grpc://{target}"
        self.timeout_s = timeout_s
        self.versions = dict(versions)
        self.models = tuple(models)
        self._connection: PerProcess[_GrpcConnection] = PerProcess(self._connect, lambda c: c.channel.close())
        self._served = _ServedVersions()

    def served_version(self, model: str) -> str | None:
        """From the answer itself: TF Serving sets PredictResponse.model_spec.version to the version
        that ran (tensorflow_serving/apis/predict.proto), so the two versions a rollout briefly
        serves side by side are told apart."""
        return self._served.versions.get(model)

    def _connect(self) -> _GrpcConnection:
        import grpc
        from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

        channel = grpc.insecure_channel(self.target, options=GRPC_CHANNEL_OPTIONS)
        return _GrpcConnection(
            channel,
            prediction_service_pb2_grpc.PredictionServiceStub(channel),
            model_service_pb2_grpc.ModelServiceStub(channel),
        )

    def _model_spec(self, spec, model: str) -> None:
        spec.name = model
        version = self.versions.get(model)
        if version is not None:
            spec.version.value = version

    def _error(self, exc, model: str, timeout_s: float) -> Exception:
        import grpc

        code = exc.code() if hasattr(exc, "code") else None
        details = exc.details() if hasattr(exc, "details") else str(exc)
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return BackendTimeout(
                f"the model server did not answer ({model}) within the {timeout_s:.3g} s left of the "
                "request's deadline (OCR_TIMEOUT_S)",
                detail=f"TF Serving {self.target}",
            )
        if code == grpc.StatusCode.UNAVAILABLE:
            return BackendUnavailable(
                "the model server is unavailable", detail=f"TF Serving {self.target}: {details}"
            )
        if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED):
            return BackendError(
                f"the model server refused the {model} call ({code.name})",
                detail=f"TF Serving {self.target}: {details}",
            )
        name = code.name if code is not None else type(exc).__name__
        return BackendUnavailable(
            f"the model server failed the {model} call ({name})",
            detail=f"TF Serving {self.target}: {details}",
        )

    def predict(self, model: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        import grpc
        from tensorflow_serving.apis import predict_pb2

        from .codec import as_text, ndarray_to_tensor_proto, tensor_proto_to_ndarray

        predict_stub = self._connection.get().predict
        request = predict_pb2.PredictRequest()
        self._model_spec(request.model_spec, model)
        request.model_spec.signature_name = SIGNATURE_NAME
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(ndarray_to_tensor_proto(value))
        timeout_s = deadline.call_timeout(self.timeout_s, f"the {model} call")
        try:
            response = predict_stub.Predict(request, timeout=timeout_s)
        except grpc.RpcError as exc:
            raise self._error(exc, model, timeout_s) from None
        if response.model_spec.HasField("version"):
            self._served.versions[model] = str(response.model_spec.version.value)
        return {name: as_text(tensor_proto_to_ndarray(t)) for name, t in response.outputs.items()}

    def ready(self) -> bool:
        import grpc
        from tensorflow_serving.apis import get_model_status_pb2

        model_stub = self._connection.get().model
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
        self._connection.close()


# ---------------------------------------------------------------------------------------------------


class TFServingRestRunner:
    """TF Serving's REST API: `:predict` in the columnar `inputs` format, strings as `{"b64": ...}`.

    JSON loses dtypes, so the runner reads each model's signature once from `/metadata` and casts
    the outputs back (float32 stays float32, bit for bit). `trust_env` is off: an HTTP proxy set for
    the container must not sit between the service and its TF Serving sidecar.
    """

    LATEST_TTL_S = 5.0  # seconds between two asks for the version TF Serving serves

    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        versions: Mapping[str, int | None] = {},  # noqa: B006 - read-only
        *,
        models: Sequence[str] = MODEL_NAMES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.backend = self.base_url
        self.timeout_s = timeout_s
        self.versions = dict(versions)
        self.models = tuple(models)
        self._session = PerProcess(_http_session, lambda session: session.close())
        self._output_dtypes: dict[str, dict[str, np.dtype]] = {}
        self._latest: dict[str, tuple[float, str | None]] = {}

    def served_version(self, model: str) -> str | None:
        """REST answers do not say which version ran: the pinned one, else the highest version TF
        Serving reports AVAILABLE (what it serves an unpinned request with), asked at most every
        LATEST_TTL_S seconds per process, so it can lag a version change by that much."""
        pinned = self.versions.get(model)
        if pinned is not None:
            return str(pinned)
        now = time.monotonic()
        checked, version = self._latest.get(model, (float("-inf"), None))
        if now - checked >= self.LATEST_TTL_S:
            try:
                body = self._request("GET", self._model_url(model), model)
                available = [
                    int(s["version"]) for s in body.get("model_version_status", [])
                    if s.get("state") == "AVAILABLE" and str(s.get("version", "")).isdigit()
                ]  # fmt: skip
                version = str(max(available)) if available else None
            except (BackendUnavailable, BackendTimeout):
                version = None
            self._latest[model] = (now, version)
        return version

    def _model_url(self, model: str) -> str:
        version = self.versions.get(model)
        suffix = f"/versions/{version}" if version is not None else ""
        return f"{self.base_url}/v1/models/{model}{suffix}"

    def _request(self, method: str, url: str, model: str, **kwargs) -> Any:
        import requests

        timeout_s = deadline.call_timeout(self.timeout_s, f"the {model} call")
        try:
            response = self._session.get().request(
                method, url, timeout=(min(timeout_s, 2.0), timeout_s), **kwargs
            )
        except requests.ConnectTimeout as exc:
            raise BackendUnavailable(
                "the model server is unreachable", detail=f"TF Serving {self.base_url}: {exc}"
            ) from None
        except requests.Timeout:
            raise BackendTimeout(
                f"the model server did not answer ({model}) within the {timeout_s:.3g} s left of the "
                "request's deadline (OCR_TIMEOUT_S)",
                detail=f"TF Serving {self.base_url}",
            ) from None
        except requests.RequestException as exc:
            raise BackendUnavailable(
                "the model server is unavailable", detail=f"TF Serving {self.base_url}: {exc}"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {"error": f"not a JSON object: {response.text[:200]!r}"}
            if response.status_code == 200:
                raise BackendUnavailable(
                    f"the model server gave no answer for {model}",
                    detail=f"TF Serving {self.base_url}: {body['error']}",
                )
        if response.status_code in (408, 504):
            raise BackendTimeout(
                f"the model server timed out on the {model} call",
                detail=f"TF Serving {self.base_url}: {body.get('error', response.reason)}",
            )
        if response.status_code != 200:
            detail = f"TF Serving {self.base_url}: " + str(body.get("error", response.reason))
            # Down, restarting, or the model not (yet) loaded: an outage. Anything else (400 for
            # INVALID_ARGUMENT / FAILED_PRECONDITION, 429 or 500 for RESOURCE_EXHAUSTED and out of
            # memory): the backend is up and refused this call.
            if response.status_code in (404, 502, 503):
                raise BackendUnavailable(
                    f"the model server cannot serve {model} (HTTP {response.status_code})", detail=detail
                )
            raise BackendError(
                f"the model server refused the {model} call (HTTP {response.status_code})", detail=detail
            )
        return body

    def _dtypes(self, model: str) -> dict[str, np.dtype]:
        if model not in self._output_dtypes:
            from .codec import dtype_by_name

            body = self._request("GET", self._model_url(model) + "/metadata", model)
            try:
                outputs = body["metadata"]["signature_def"]["signature_def"][SIGNATURE_NAME]["outputs"]
            except (KeyError, TypeError):
                raise BackendUnavailable(
                    f"the model server has no {SIGNATURE_NAME} signature for {model}",
                    detail=f"TF Serving {self.base_url}",
                ) from None
            self._output_dtypes[model] = {
                name: dtype_by_name(info["dtype"]) for name, info in outputs.items()
            }
        return self._output_dtypes[model]

    def predict(self, model: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        from . import codec

        dtypes = self._dtypes(model)
        payload = {
            "signature_name": SIGNATURE_NAME,
            "inputs": {name: codec.to_json(np.asarray(value)) for name, value in inputs.items()},
        }
        body = self._request("POST", self._model_url(model) + ":predict", model, json=payload)
        if "outputs" not in body:
            raise BackendUnavailable(
                f"the model server answered {model} without outputs", detail=f"TF Serving {self.base_url}"
            )
        outputs = body["outputs"]
        if not isinstance(outputs, dict) or len(dtypes) == 1 and set(outputs) != set(dtypes):
            outputs = {next(iter(dtypes)): outputs}  # TF Serving unwraps a single output
        return {name: codec.from_json(value, dtypes.get(name)) for name, value in outputs.items()}

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
        self._session.close()


class _GrpcConnection(NamedTuple):
    channel: Any
    predict: Any  # PredictionServiceStub
    model: Any  # ModelServiceStub


def _http_session():
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.trust_env = False
    session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=64))
    session.mount("https://", HTTPAdapter(pool_connections=4, pool_maxsize=64))
    return session


_devices_configured = False


def _configure_devices_once(gpu_memory_mib: int | None) -> None:
    """TensorFlow's GPU memory settings, once per process, before its first model loads."""
    global _devices_configured
    if not _devices_configured:
        from . import device

        device.configure(gpu_memory_mib)
        _devices_configured = True
