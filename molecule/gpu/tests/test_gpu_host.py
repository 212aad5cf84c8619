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


def test_dev_char_links_exist_for_the_nvidia_devices(host):
    # NVIDIA's fix for "Failed to initialize NVML: Unknown Error" after systemctl daemon-reload
    assert host.file("/lib/udev/rules.d/71-nvidia-dev-char.rules").exists
    links = host.check_output("find /dev/char -maxdepth 1 -lname '*nvidia*' | wc -l")
    assert int(links) > 0


def test_gpu_container_survives_a_daemon_reload(host):
    name = "ocrstack-gpu-reload-check"
    host.run(f"docker rm -f {name}")
    host.check_output(
        f"docker run -d --name {name} --runtime nvidia -e NVIDIA_VISIBLE_DEVICES=all "
        f"-e NVIDIA_DRIVER_CAPABILITIES=utility {IMAGE} sleep 120"
    )
    try:
        host.check_output("systemctl daemon-reload")
        out = host.check_output(
            f"docker exec {name} nvidia-smi --query-gpu=driver_version --format=csv,noheader"
        )
        assert VERSION in out
    finally:
        host.run(f"docker rm -f {name}")


def test_docker_live_restore_is_on(host):
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert info["LiveRestoreEnabled"] is True


def test_the_driver_packages_are_held_at_the_pinned_version(host):
    pin = host.file("/etc/apt/preferences.d/nvidia-driver-pin")
    if pin.exists:
        assert f"Pin: version {VERSION}-*" in pin.content_string
    else:  # EL: dnf/yum versionlock
        locks = host.check_output("(dnf -q versionlock list || yum -q versionlock list) 2>/dev/null")
        assert VERSION in locks
