"""State the nvidia_driver role must leave on a Debian 12 container (distro source, kernel checks skipped).

What a container cannot prove (module loaded, nvidia-smi, initramfs, reboot) is listed in README.md
and checked by the `gpu` scenario on a real host.
"""

import pytest

testinfra_hosts = ["ansible://all"]

VERSION = "535.261.03-1"


@pytest.mark.parametrize("name", ["nvidia-kernel-dkms", "nvidia-smi", "libcuda1", "libnvidia-ml1"])
def test_driver_packages_installed_at_the_pinned_version(host, name):
    pkg = host.package(name)
    assert pkg.is_installed
    assert pkg.version == VERSION


def test_the_pin_holds_the_driver_although_a_newer_one_is_offered(host):
    # prepare.yml offers libnvidia-ml1 535.288.01-1 from a second repository; NVIDIA's version lock
    # (apt preferences, priority 1000 for the driver's source packages) keeps 535.261.03-1 the candidate
    policy = host.check_output("apt-cache policy libnvidia-ml1")
    assert "535.288.01-1" in policy  # the newer one is really offered
    assert f"Candidate: {VERSION}" in policy
    pin = host.file("/etc/apt/preferences.d/nvidia-driver-pin").content_string
    assert "Package: src:*nvidia*:any src:cuda-drivers:any src:cuda-compat:any" in pin
    assert "Pin: version 535.261.03-*" in pin
    assert "Pin-Priority: 1000" in pin
    # apt-get upgrade would not move it either
    plan = host.check_output("apt-get -s upgrade")
    assert "Inst libnvidia-ml1" not in plan


def test_dkms_knows_the_driver_module(host):
    assert host.package("dkms").is_installed
    out = host.check_output("dkms status")
    assert "nvidia-current/535.261.03" in out


def test_nouveau_blacklisted(host):
    f = host.file("/etc/modprobe.d/blacklist-nouveau.conf")
    lines = [line for line in f.content_string.splitlines() if not line.startswith("#")]
    assert lines == ["blacklist nouveau", "options nouveau modeset=0"]
    # modprobe reads it: the effective configuration blacklists nouveau
    assert "blacklist nouveau" in host.check_output(
        "modprobe --showconfig 2>/dev/null | grep -i '^blacklist nouveau'"
    )


def test_nonfree_source_uses_the_instance_mirror(host):
    src = host.file("/etc/apt/sources.list.d/debian-nonfree.sources").content_string
    mirror = host.check_output(
        "grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list"
        " | grep -oE 'https?://[^ ]+' | head -n1"
    )
    assert f"URIs: {mirror}" in src
    assert "Components: contrib non-free non-free-firmware" in src
    assert "Suites: bookworm bookworm-updates" in src


def test_kernel_never_touched(host):
    # skip_kernel_checks: no headers; and in no mode does the role install a kernel image
    installed = host.check_output(
        "dpkg-query -W -f '${Package} ${Status}\\n' 'linux-image-*' 'linux-headers-*' 2>/dev/null || true"
    )
    assert "install ok installed" not in installed
