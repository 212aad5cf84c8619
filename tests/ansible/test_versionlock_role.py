"""The shared versionlock role (roles/versionlock): which `versionlock list` lines it reads as
locks of the given packages, which it deletes before the install and what it adds after it,
rendered the way Ansible renders them; and that both EL roles run it around their install.

The yum (EL 7) lock format cannot run here (no yum 3); dnf's runs in Molecule (nvidia_driver and
nvidia_container_toolkit, el9 instances).
"""

from pathlib import Path

import pytest
import yaml
from ocrstack_testing.ansible_play import role_vars

REPO = Path(__file__).resolve().parents[2]
EL7_SET = [f"nvidia-driver-branch-535{s}" for s in ("", "-cuda", "-cuda-libs", "-libs", "-NVML")]
EL9_SET = ["nvidia-driver", "nvidia-driver-cuda", "nvidia-driver-NVML", "kmod-nvidia-latest-dkms"]


def render(packages, version, lock_lines, pkg_mgr="dnf"):
    return role_vars(
        "versionlock", "vars/main.yml",
        versionlock_packages=packages, versionlock_version=version,
        _versionlock_list={"stdout_lines": lock_lines}, ansible_pkg_mgr=pkg_mgr,
    )  # fmt: skip


TOOLKIT = ["nvidia-container-toolkit", "nvidia-container-toolkit-base", "libnvidia-container-tools",
           "libnvidia-container1"]  # fmt: skip
# (packages, version, `versionlock list` lines, the lines deleted before the install, the
# NAME-VERSION arguments added after it)
CASES = {
    # dnf: NAME-EPOCH:VERSION-RELEASE.*
    "dnf": (EL9_SET, "535.261.03", [
        "nvidia-driver-3:535.261.03-1.el9.*",
        "nvidia-driver-cuda-3:535.288.01-1.el9.*",
        "nvidia-driver-NVML-3:535.261.03-1.el9.*",
        "nvidia-driver-devel-3:535.288.01-1.el9.*",  # not in the set: stays
        "!nvidia-driver-libs-3:535.288.01-1.el9.*",  # an exclude, not a lock of the set: stays
        "docker-ce-3:28.5.2-1.el9.*",
    ], ["nvidia-driver-cuda-3:535.288.01-1.el9.*"],
        ["nvidia-driver-cuda-535.261.03", "kmod-nvidia-latest-dkms-535.261.03"]),
    # yum (EL 7): EPOCH:NAME-VERSION-RELEASE.*; the branch's names hold "-535"
    "yum": (EL7_SET, "535.261.03", [
        "3:nvidia-driver-branch-535-535.230.02-1.el7.*",
        "3:nvidia-driver-branch-535-cuda-535.261.03-1.el7.*",
        "3:nvidia-driver-branch-535-cuda-libs-535.230.02-1.el7.*",
        "3:nvidia-driver-branch-535-devel-535.230.02-1.el7.*",  # not in the set: stays
    ], ["3:nvidia-driver-branch-535-535.230.02-1.el7.*",
        "3:nvidia-driver-branch-535-cuda-libs-535.230.02-1.el7.*"],
        [f"{name}-535.261.03" for name in EL7_SET if name != "nvidia-driver-branch-535-cuda"]),
    # the second run (idempotence): no delete, no add
    "all-locked-at-the-pin": (TOOLKIT, "1.17.8", [f"{name}-0:1.17.8-1.*" for name in TOOLKIT], [], []),
    # a version that only starts like the pin is another version
    "version-prefix": (["libnvidia-container1"], "1.17.8", ["libnvidia-container1-0:1.17.80-1.*"],
                       ["libnvidia-container1-0:1.17.80-1.*"], ["libnvidia-container1-1.17.8"]),
    # under --check on a host without the plugin: the list command failed, no lines
    "no-list": (["nvidia-driver"], "535.261.03", [], [], ["nvidia-driver-535.261.03"]),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_locks_at_another_version_are_deleted_and_missing_ones_added(case):
    packages, version, lines, deleted, added = CASES[case]
    var = render(packages, version, lines)
    assert var("_versionlock_other_versions") == deleted
    assert var("_versionlock_unlocked") == added


@pytest.mark.parametrize("pkg_mgr,plugin", [
    ("yum", "yum-plugin-versionlock"), ("dnf", "python3-dnf-plugin-versionlock"),
])  # fmt: skip
def test_the_plugin_is_the_package_managers_own(pkg_mgr, plugin):
    assert render(["x"], "1", [], pkg_mgr)("_versionlock_plugin_package") == plugin


def _tasks(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("role,install", [
    ("nvidia_driver", "nvidia_driver | EL | driver packages (pinned)"),
    ("nvidia_driver", "nvidia_driver | EL 7 | driver packages (pinned)"),
    ("nvidia_container_toolkit", "nvidia_container_toolkit | EL | packages (pinned)"),
])  # fmt: skip
def test_the_el_roles_unlock_other_versions_before_their_install_and_lock_after_it(role, install):
    tasks = _tasks(REPO / "roles" / role / "tasks" / "setup-RedHat.yml")
    names = [t["name"] for t in tasks]
    entry = {
        t.get("ansible.builtin.include_role", {}).get("tasks_from"): i
        for i, t in enumerate(tasks)
        if t.get("ansible.builtin.include_role", {}).get("name") == "versionlock"
    }
    assert set(entry) == {"unlock_other_versions", "lock"}, names
    assert entry["unlock_other_versions"] < names.index(install) < entry["lock"], names
    # the same packages, version and switch at both entry points
    assert tasks[entry["unlock_other_versions"]]["vars"] == tasks[entry["lock"]]["vars"]
    # nothing else in the role speaks to the versionlock plugin itself
    for path in (REPO / "roles" / role).rglob("*.yml"):
        assert "versionlock list" not in path.read_text() and "versionlock add" not in path.read_text(), path


def test_the_driver_lock_keeps_its_switch():
    tasks = _tasks(REPO / "roles" / "nvidia_driver" / "tasks" / "setup-RedHat.yml")
    includes = [t for t in tasks if t.get("ansible.builtin.include_role", {}).get("name") == "versionlock"]
    params = [t["vars"] for t in includes]
    assert params and all(p["versionlock_enabled"] == "{{ nvidia_driver_version_lock }}" for p in params)
