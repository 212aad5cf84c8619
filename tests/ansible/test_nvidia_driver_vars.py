"""The nvidia_driver role's per-OS package names, rendered the way Ansible renders them.

The EL 7 path cannot run here (no yum 3, no EL 7 image); what it installs is decided by
vars/RedHat-7.yml, so the names are checked against NVIDIA's packaging documentation (README: Facts).
"""

import pytest
from ocrstack_testing.ansible_play import role_vars


def render(vars_file, **facts):
    return role_vars("nvidia_driver", f"vars/{vars_file}", **facts)


EL7 = {"ansible_kernel": "3.10.0-1160.119.1.el7.x86_64", "ansible_distribution": "CentOS",
       "ansible_distribution_major_version": "7", "ansible_architecture": "x86_64",
       "ansible_facts": {"distribution_major_version": "7"}}


def test_el7_installs_nvidias_branch_flavour_names():
    var = render("RedHat-7.yml", **EL7)
    assert var("_nvidia_driver_packages")["cuda"] == [
        "nvidia-driver-branch-535",
        "nvidia-driver-branch-535-cuda",
        "nvidia-driver-branch-535-cuda-libs",
        "nvidia-driver-branch-535-libs",
        "nvidia-driver-branch-535-NVML",
    ]


def test_el7_takes_the_precompiled_module_for_the_running_kernel():
    # NVIDIA: kmod-nvidia-branch-XXX-${kernel}.r${driver}.${dist}.${arch}.rpm
    var = render("RedHat-7.yml", **EL7)
    assert var("_nvidia_driver_kmod_package") == "kmod-nvidia-branch-535-3.10.0-1160.119.1.r535.261.03.el7"


def test_el7_has_no_dkms_flavour_and_needs_no_headers_or_epel():
    var = render("RedHat-7.yml", **EL7)
    names = var("_nvidia_driver_packages")["cuda"] + [var("_nvidia_driver_kmod_package")]
    assert not [n for n in names if "dkms" in n or "latest" in n]
    assert var("_nvidia_driver_base_packages") == []
    assert var("_nvidia_driver_headers_packages") == []
    assert var("_nvidia_driver_epel") is False


@pytest.mark.parametrize("distribution,major,crb", [
    ("Rocky", "9", "crb"), ("AlmaLinux", "8", "powertools"),
    ("RedHat", "9", "codeready-builder-for-rhel-9-x86_64-rpms"),
])
def test_el8_9_enable_the_dkms_stream_and_pin_the_whole_set(distribution, major, crb):
    facts = {"ansible_kernel": "5.14.0-503.el9.x86_64", "ansible_distribution": distribution,
             "ansible_distribution_major_version": major, "ansible_architecture": "x86_64",
             "ansible_facts": {"distribution_major_version": major}}
    var = render("RedHat.yml", **facts)
    assert var("_nvidia_driver_dnf_stream") == "535-dkms"
    packages = var("_nvidia_driver_packages")["cuda"]
    expected = {"nvidia-driver", "nvidia-driver-cuda", "nvidia-kmod-common", "kmod-nvidia-latest-dkms"}
    assert expected <= set(packages)
    assert not [p for p in packages if p.startswith("@")]  # never the stream's profile (its newest driver)
    assert var("_nvidia_driver_base_packages") == ["dkms"] and var("_nvidia_driver_epel") is True
    assert var("_nvidia_driver_crb_repo_os") == crb
    # the repository exempted from modular filtering for the pinned install is NVIDIA's (cuda_repo's)
    assert var("_nvidia_driver_cuda_repo_id") == f"cuda-rhel{major}-x86_64"
