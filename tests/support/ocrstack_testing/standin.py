"""The TF Serving stand-in (docker/tfserving-standin) as a subprocess on free local ports.

Shared by the runner tests and the web service's resilience tests: start() returns once both
protocols report every model AVAILABLE, stop() kills it, and start() again brings it back on the
same ports, as a restarted TF Serving container would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from ocr_service.settings import Settings

STANDIN = Path(__file__).resolve().parents[3] / "docker" / "tfserving-standin" / "server.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StandIn:
    """The TF Serving stand-in as a subprocess on free local ports; restartable on the same ports."""

    def __init__(
        self,
        config: Path,
        log_path: Path,
        extra_args: tuple[str, ...] = (),
        ready_models: tuple[str, ...] = Settings().models,
    ) -> None:
        self.config, self.log_path = config, log_path
        self.extra_args, self.ready_models = extra_args, ready_models
        self.grpc_port, self.rest_port = free_port(), free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def start(self, timeout_s: float = 90.0) -> None:
        from ocr_service.runners import TFServingGrpcRunner, TFServingRestRunner

        command = [
            sys.executable, str(STANDIN), "--model-config-file", str(self.config),
            "--port", str(self.grpc_port), "--rest-api-port", str(self.rest_port), *self.extra_args,
        ]  # fmt: skip
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        grpc_probe = TFServingGrpcRunner(self.grpc_target, 2.0, models=self.ready_models)
        rest_probe = TFServingRestRunner(self.rest_url, 2.0, models=self.ready_models)
        deadline = time.monotonic() + timeout_s
        try:
            while not (grpc_probe.ready() and rest_probe.ready()):
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"stand-in exited with {self.proc.returncode}:\n{self.log_path.read_text()}"
                    )
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"stand-in not ready after {timeout_s} s:\n{self.log_path.read_text()}"
                    )
                time.sleep(0.2)
        finally:
            grpc_probe.close()
            rest_probe.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


def models_config(models_root: Path, names: tuple[str, ...]) -> str:
    """A models.config serving each of `names` from `<models_root>/<name>` (highest version)."""
    configs = "".join(
        f'  config {{ name: "{name}" base_path: "{models_root / name}" model_platform: "tensorflow" }}\n'
        for name in names
    )
    return "model_config_list {\n" + configs + "}\n"
