"""State the nvidia_driver role must leave on the el9 platform (Rocky 9, dnf; kernel checks skipped):
NVIDIA's package set from the CUDA rhel9 repository at the PINNED version although the repository
and the enabled stream also offer a newer 535, dkms from EPEL, CRB enabled, the set version-locked.
What the platform cannot show (kernel module, DKMS build, SELinux): molecule/_images/README.md."""

import pytest

testinfra_hosts = ["ansible://all"]
PLATFORM = "rocky"

PINNED = "3:535.261.03-1.el9"
NEWER = "3:535.288.01-1.el9"
# NVIDIA's EL 8/9 package set of the role (roles/nvidia_driver/vars/RedHat.yml, README: Facts)
PACKAGES = [
    "nvidia-driver", "nvidia-driver-cuda", "nvidia-driver-cuda-libs", "nvidia-driver-libs",
    "nvidia-driver-NVML", "nvidia-kmod-common", "kmod-nvidia-latest-dkms", "nvidia-modprobe",
    "nvidia-persistenced",
]  # fmt: skip


def _evr(host, name):
    return host.check_output(f"rpm -q --qf '%{{EPOCH}}:%{{VERSION}}-%{{RELEASE}}' {name}")


@pytest.mark.parametrize("name", PACKAGES)
def test_driver_package_installed_at_the_pinned_version(host, name):
    assert _evr(host, name) == PINNED


def test_the_repository_offers_a_newer_535_that_was_not_taken(host):
    out = host.check_output("dnf -q --showduplicates list --available nvidia-driver")
    assert NEWER in out, out


def test_the_535_dkms_stream_is_enabled(host):
    out = " ".join(host.check_output("dnf -q module list --enabled nvidia-driver").split())
    assert "nvidia-driver 535-dkms [e]" in out, out


def test_dkms_came_from_epel_and_crb_is_enabled(host):
    assert host.check_output("dnf -q repoquery --installed --qf '%{from_repo}' dkms") == "epel"
    enabled = host.check_output("dnf -q repolist --enabled")
    assert "\ncrb " in enabled and "\nepel " in enabled, enabled


def test_the_set_is_version_locked_and_an_upgrade_keeps_it(host):
    locks = host.check_output("dnf -q versionlock list")
    for name in PACKAGES:
        assert f"{name}-{PINNED}.*" in locks, locks
    # `dnf list --upgrades` ignores locks by design (no depsolving); an upgrade resolves with them.
    # --assumeno: the transaction is computed and shown, never run.
    upgrade = host.run("dnf --assumeno upgrade 'nvidia*' 'kmod-nvidia*'")
    assert "535.288.01" not in upgrade.stdout + upgrade.stderr, upgrade.stdout + upgrade.stderr
    # without the locks the same upgrade would take the newer driver (the test can fail)
    unlocked = host.run("dnf --assumeno --disableplugin=versionlock upgrade 'nvidia*' 'kmod-nvidia*'")
    assert "535.288.01" in unlocked.stdout, unlocked.stdout + unlocked.stderr


def test_the_locks_at_another_version_went_before_the_install_and_a_foreign_lock_stayed(host):
    # prepare locked the whole set at NEWER (what an earlier nvidia_driver_version leaves; it hides
    # the pinned version from dnf) and nvidia-driver-devel, which is not in the role's set
    locks = host.check_output("dnf -q versionlock list").splitlines()
    assert [line for line in locks if "535.288.01" in line] == [f"nvidia-driver-devel-{NEWER}.*"], locks
    pinned = sorted(line for line in locks if PINNED in line)
    assert pinned == sorted(f"{name}-{PINNED}.*" for name in PACKAGES), locks
