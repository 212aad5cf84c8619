"""`ocr-service`: run gunicorn with the packaged configuration, so no long command lines are needed.

Settings are checked here first, so a bad OCR_* value is reported before gunicorn starts. Extra
arguments go to gunicorn unchanged.

`ocr-service --check-config [--gpu-memory-total-mib N]` checks the OCR_* environment and exits
without serving: status 0 and the effective settings as one JSON object on stdout, or status 2
and one sentence on stderr. With the GPU's memory (mode single), it also sizes each worker's share
(`ocr_service.device.memory_per_worker_mib`) and refuses a worker count that cannot fit. The
deployment runs it in the image, so its checks are the service's own and cannot drift.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .settings import Settings, as_environment, settings_or_exit

CONFIG = Path(__file__).with_name("gunicorn.conf.py")


def check_config(settings: Settings, gpu_memory_total_mib: int | None) -> dict[str, object]:
    """The effective settings; raises device.GpuMemoryError when the workers cannot share the GPU."""
    from . import device

    environment = as_environment(settings)
    if settings.mode == "single" and gpu_memory_total_mib is not None and settings.gpu_memory_mib is None:
        share = device.memory_per_worker_mib(gpu_memory_total_mib, settings.workers)
        environment["OCR_GPU_MEMORY_MIB"] = str(share)
    elif (
        settings.mode == "single"
        and gpu_memory_total_mib is not None
        and (
            settings.gpu_memory_mib * settings.workers > gpu_memory_total_mib  # type: ignore[operator]
        )
    ):
        raise device.GpuMemoryError(
            f"OCR_GPU_MEMORY_MIB={settings.gpu_memory_mib} x OCR_WORKERS={settings.workers} is more "
            f"than the GPU's {gpu_memory_total_mib} MiB: lower one of them."
        )
    return {"settings": environment}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    settings = settings_or_exit()
    if "--check-config" in args:
        parser = argparse.ArgumentParser(prog="ocr-service")
        parser.add_argument("--check-config", action="store_true", required=True)
        parser.add_argument("--gpu-memory-total-mib", type=int, default=None)
        options = parser.parse_args(args)
        from .device import GpuMemoryError

        try:
            report = check_config(settings, options.gpu_memory_total_mib)
        except GpuMemoryError as exc:
            print(f"ocr-service: configuration error: {exc}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None
        print(json.dumps(report, sort_keys=True))
        raise SystemExit(0)
    command = [sys.executable, "-m", "gunicorn", "--config", str(CONFIG), *args]
    os.execv(sys.executable, command)  # gunicorn becomes this process: signals reach it directly


if __name__ == "__main__":
    main()
