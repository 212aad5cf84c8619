"""State the nvidia_container_toolkit role (after the docker role) must leave, against the offline mirror.

The packages are test stand-ins with NVIDIA's names (README.md): this proves the repository, the
signature, the pin and the daemon.json merge, not NVIDIA's binaries. Debian 12 and el9 instances;
tests that hold on one platform only say so (usefixtures debian_only / el9_only).
"""

import json

import pytest

testinfra_hosts = ["ansible://all"]

REPO = "http://127.0.0.1:8899/libnvidia-container/stable/deb/amd64/"
KEYRING = "/usr/share/keyrings/nvidia-container-toolkit-keyring.asc"
PACKAGES = [
    "nvidia-container-toolkit", "nvidia-container-toolkit-base",
    "libnvidia-container-tools", "libnvidia-container1",
]  # fmt: skip


@pytest.mark.usefixtures("debian_only")
@pytest.mark.parametrize("name", PACKAGES)
def test_packages_pinned_not_newest(host, name):
    pkg = host.package(name)
    assert pkg.is_installed
    # the mirror also offers nvidia-container-toolkit 1.18.0-1: the pin must win
    assert pkg.version == "1.17.8-1"


@pytest.mark.usefixtures("debian_only")
def test_an_apt_upgrade_keeps_the_pinned_version(host):
    # the mirror offers 1.18.0-1 too: without the role's hold, apt would take it on the next upgrade
    policy = host.check_output("apt-cache policy nvidia-container-toolkit")
    assert "1.18.0-1" in policy, policy
    assert "Candidate: 1.17.8-1" in policy, policy
    upgrade = host.check_output("apt-get --simulate --with-new-pkgs upgrade")
    assert "nvidia-container-toolkit" not in upgrade, upgrade


@pytest.mark.usefixtures("debian_only")
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


# --- el9 (Rocky 9, dnf): NVIDIA's rpm repository with signed metadata, the pinned packages --------
EL9_MIRROR = "http://127.0.0.1:8899/libnvidia-container"


@pytest.mark.usefixtures("el9_only")
@pytest.mark.parametrize("name", PACKAGES)
def test_el9_packages_pinned_not_newest(host, name):
    # the repository also offers 1.18.0-1: the pin must win
    assert host.check_output(f"rpm -q --qf '%{{VERSION}}-%{{RELEASE}}' {name}") == "1.17.8-1"


@pytest.mark.usefixtures("el9_only")
def test_el9_the_packages_are_version_locked_and_an_upgrade_keeps_them(host):
    locks = host.check_output("dnf -q versionlock list")
    for name in PACKAGES:
        assert f"{name}-0:1.17.8-1.*" in locks, locks
    # the side effect locked libnvidia-container1 at 1.18.0 too, and ran the role again
    assert "1.18.0" not in locks, locks
    # --assumeno: the transaction is computed and shown, never run
    toolkit = "'nvidia-container-toolkit*' 'libnvidia-container*'"
    upgrade = host.run(f"dnf --assumeno upgrade {toolkit}")
    assert "1.18.0" not in upgrade.stdout + upgrade.stderr, upgrade.stdout + upgrade.stderr
    # without the locks the same upgrade would take 1.18.0 (the test can fail)
    unlocked = host.run(f"dnf --assumeno --disableplugin=versionlock upgrade {toolkit}")
    assert "1.18.0" in unlocked.stdout, unlocked.stdout + unlocked.stderr


@pytest.mark.usefixtures("el9_only")
def test_el9_repository_checks_the_signed_metadata_with_nvidias_key_url(host, yum_repo):
    section = yum_repo("/etc/yum.repos.d/nvidia-container-toolkit.repo", "nvidia-container-toolkit")
    assert section["baseurl"] == f"{EL9_MIRROR}/stable/rpm/$basearch"
    assert (section["repo_gpgcheck"], section["gpgcheck"]) == ("1", "0")
    assert section["gpgkey"] == f"{EL9_MIRROR}/gpgkey"
    # dnf reads the repository only after the repomd.xml signature checked out
    out = host.check_output(
        "dnf -q --disablerepo='*' --enablerepo=nvidia-container-toolkit "
        "list --available --showduplicates nvidia-container-toolkit"
    )
    assert "1.18.0-1" in out, out
