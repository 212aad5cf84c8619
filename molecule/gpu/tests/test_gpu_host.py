"""What only a real GPU host can show: the module loaded, nvidia-smi, a GPU container."""

import json
import os

testinfra_hosts = ["ansible://gpu-host"]

VERSION = os.environ.get("GPU_DRIVER_VERSION", "535.261.03")
IMAGE = os.environ.get("GPU_TEST_IMAGE", "debian:bookworm")


def test_loaded_module_is_the_pinned_driver(host):
    assert host.file("/sys/module/nvidia/version").content_string.strip() == VERSION


def test_nouveau_not_loaded(host):
    assert not host.file("/sys/module/nouveau").exists


def test_nvidia_smi_reports_the_pinned_driver_on_every_gpu(host):
    out = host.check_output("nvidia-smi --query-gpu=driver_version --format=csv,noheader")
    versions = {line.strip() for line in out.splitlines() if line.strip()}
    assert versions == {VERSION}


def test_docker_has_the_nvidia_runtime(host):
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert "nvidia" in info["Runtimes"]


def test_container_sees_the_gpu(host):
    # the toolkit mounts nvidia-smi and the driver libraries into any image
    out = host.check_output(
        "docker run --rm --runtime nvidia -e NVIDIA_VISIBLE_DEVICES=all "
        f"-e NVIDIA_DRIVER_CAPABILITIES=utility {IMAGE} "
        "nvidia-smi --query-gpu=driver_version --format=csv,noheader"
    )
    assert VERSION in out
