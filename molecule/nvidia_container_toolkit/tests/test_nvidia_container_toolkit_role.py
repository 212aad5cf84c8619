"""State the nvidia_container_toolkit role (after the docker role) must leave, against the offline mirror.

The packages are test stand-ins with NVIDIA's names (README.md): this proves the repository, the
signature, the pin and the daemon.json merge, not NVIDIA's binaries.
"""

import json

import pytest

testinfra_hosts = ["ansible://all"]

REPO = "http://127.0.0.1:8899/libnvidia-container/stable/deb/amd64/"
KEYRING = "/usr/share/keyrings/nvidia-container-toolkit-keyring.asc"


@pytest.mark.parametrize(
    "name",
    [
        "nvidia-container-toolkit",
        "nvidia-container-toolkit-base",
        "libnvidia-container-tools",
        "libnvidia-container1",
    ],
)
def test_packages_pinned_not_newest(host, name):
    pkg = host.package(name)
    assert pkg.is_installed
    # the mirror also offers nvidia-container-toolkit 1.18.0-1: the pin must win
    assert pkg.version == "1.17.8-1"


def test_source_and_keyring(host):
    text = host.file("/etc/apt/sources.list.d/nvidia-container-toolkit.sources").content_string
    fields = dict(
        line.split(": ", 1) for line in text.splitlines() if ": " in line and not line.startswith("#")
    )
    assert fields == {"Types": "deb", "URIs": REPO, "Suites": "/", "Signed-By": KEYRING}
    assert host.file(KEYRING).content_string.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")


def test_daemon_json_has_the_runtime_and_kept_every_other_key(host):
    cfg = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert cfg["runtimes"] == {"nvidia": {"path": "nvidia-container-runtime", "args": []}}
    assert cfg["default-runtime"] == "nvidia"
    assert cfg["labels"] == ["molecule.preexisting=kept"]  # written before any role ran
    assert cfg["storage-driver"] == "overlay2"  # merged by the docker role


def test_running_docker_knows_the_nvidia_runtime(host):
    assert host.service("docker").is_running
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert "nvidia" in info["Runtimes"]
    assert info["DefaultRuntime"] == "nvidia"
    assert "molecule.preexisting=kept" in info["Labels"]


def test_udev_rule_recreates_dev_char_links_when_the_driver_loads(host):
    # NVIDIA's fix for "Failed to initialize NVML: Unknown Error" after systemctl daemon-reload
    rule = host.file("/lib/udev/rules.d/71-nvidia-dev-char.rules")
    lines = [line for line in rule.content_string.splitlines() if line and not line.startswith("#")]
    assert lines == [
        'ACTION=="add", DEVPATH=="/bus/pci/drivers/nvidia", '
        'RUN+="/usr/bin/nvidia-ctk system create-dev-char-symlinks --create-all"'
    ]


def test_no_driver_loaded_so_nvidia_ctk_was_not_run_now(host):
    # this container has no NVIDIA driver: the links are left to the udev rule
    assert not host.file("/proc/driver/nvidia/version").exists
    assert not host.file("/var/log/nvidia-ctk-stand-in.log").exists
