"""GPU memory per gunicorn worker: the sizing rule, and what a worker reports when it has no GPU."""

from __future__ import annotations

import pytest
from ocr_service import device
from ocr_service.runners import SavedModelRunner


@pytest.mark.parametrize(
    ("total_mib", "workers", "share"),
    [(16384, 1, 15360), (16384, 2, 7680), (16384, 4, 3840), (81920, 16, 5056), (2560, 1, 1536)],
)
def test_each_worker_gets_an_equal_share_of_what_is_left_after_the_reserve(total_mib, workers, share):
    assert device.memory_per_worker_mib(total_mib, workers) == share


def test_a_worker_count_that_cannot_fit_is_refused_with_the_count_that_does():
    with pytest.raises(device.GpuMemoryError, match="Set OCR_WORKERS to 10 or fewer"):
        device.memory_per_worker_mib(16384, 11)
    with pytest.raises(device.GpuMemoryError, match="too small for mode single"):
        device.memory_per_worker_mib(2048, 1)


def test_a_worker_without_a_gpu_reports_cpu(tmp_path):
    # The test machines have no GPU: memory settings are a no-op and the runner says "CPU".
    device.configure(1536)
    assert device.describe() == "CPU"
    runner = SavedModelRunner(tmp_path, gpu_memory_mib=2048)
    assert runner.device is None  # nothing loaded yet
