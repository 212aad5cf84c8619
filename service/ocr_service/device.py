"""Which device TensorFlow runs the models on in this process, and how much GPU memory it may take.

In mode `single` every gunicorn worker loads TensorFlow and both models. By default TensorFlow
reserves almost all of a GPU's memory in the first process that touches it, and the next worker
fails to allocate: each worker must either grow its memory on demand or stay within a fixed share.
`memory_per_worker_mib` is the one rule for that share (the deployment asks it through
`ocr-service --check-config --gpu-memory-total-mib N`); `configure` applies it in the worker,
before the first model loads; `describe` says what TensorFlow chose (shown by `/readyz`).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# GPU memory that is not TensorFlow's to take: the CUDA context of each process (~300-500 MiB on
# current drivers) and headroom for cuDNN workspaces. Kept back from the total before it is shared.
RESERVED_MIB = 1024
# Below this a worker cannot hold both models and a page's activations (the bundled ctpn + crnn
# weights are ~60 MiB; a 40-megapixel page's detector activations are several hundred MiB).
MIN_PER_WORKER_MIB = 1536


class GpuMemoryError(ValueError):
    """The workers asked for cannot each get a usable share of the GPU."""


def memory_per_worker_mib(
    total_mib: int, workers: int, reserved_mib: int = RESERVED_MIB, minimum_mib: int = MIN_PER_WORKER_MIB
) -> int:
    """Each worker's GPU memory limit: (total - reserved) / workers, refused below `minimum_mib`."""
    if total_mib <= 0 or workers <= 0:
        raise GpuMemoryError(f"GPU memory ({total_mib} MiB) and workers ({workers}) must be positive")
    share = (total_mib - reserved_mib) // workers
    if share < minimum_mib:
        fit = max(0, (total_mib - reserved_mib) // minimum_mib)
        raise GpuMemoryError(
            f"OCR_WORKERS={workers} does not fit on a GPU with {total_mib} MiB: each worker would get "
            f"{share} MiB, at least {minimum_mib} MiB are needed. Set OCR_WORKERS to {fit} or fewer"
            + (
                " (or use mode tfserving: one copy of the models for all workers)."
                if fit
                else ": this GPU is too small for mode single; use mode tfserving or a CPU host."
            )
        )
    return share


def configure(memory_limit_mib: int | None) -> None:
    """Before any model loads: a fixed memory limit per GPU, or memory growth when None."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            if memory_limit_mib:
                tf.config.set_logical_device_configuration(
                    gpu, [tf.config.LogicalDeviceConfiguration(memory_limit=memory_limit_mib)]
                )
            else:
                tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as exc:  # already initialised in this process: too late to change
            log.warning("GPU memory settings not applied to %s: %s", gpu.name, exc)


def describe() -> str:
    """The device the models run on: "GPU:0 (<name>)" when TensorFlow has a GPU, else "CPU"."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if not gpus:
        return "CPU"
    name = gpus[0].name.split("device:")[-1]
    try:
        details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
        return f"{name} ({details.get('device_name', 'unknown')})"
    except (IndexError, ValueError, RuntimeError):
        return name
