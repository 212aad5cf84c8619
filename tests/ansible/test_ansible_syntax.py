"""Every playbook passes --syntax-check on the newest ansible-core here and on 2.16 (CentOS 7 lane)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLAYBOOKS = sorted((REPO / "playbooks").glob("*.yml"))
LANE_216 = REPO / ".venv-ansible216"


def _collections_dir() -> str:
    # the collections of the `ansible` bundle in this venv (Galaxy is unreachable in CI)
    spec = importlib.util.find_spec("ansible_collections")
    assert spec and spec.submodule_search_locations, "the `ansible` bundle is not installed in this venv"
    return str(Path(next(iter(spec.submodule_search_locations))).parent)


def _syntax_check(ansible_playbook: Path, playbook: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collections_dir(), NO_COLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.pop("ANSIBLE_CONFIG", None)  # the repository's ansible.cfg (roles_path = roles)
    return subprocess.run(
        [str(ansible_playbook), "--syntax-check", "-i", "localhost,", str(playbook.relative_to(REPO))],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def ansible_216() -> Path:
    """.venv-ansible216 (gitignored) from requirements/ansible-core-2.16.txt.

    Made by `make venv-ansible216`.
    """
    subprocess.run(["make", "-s", "venv-ansible216"], cwd=REPO, check=True, timeout=600)
    exe = LANE_216 / "bin" / "ansible-playbook"
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True).stdout
    assert "core 2.16." in version, version
    return exe


def test_there_are_playbooks():
    assert (REPO / "playbooks" / "gpu_hosts.yml") in PLAYBOOKS


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.name)
def test_syntax_newest_core(playbook):
    result = _syntax_check(BIN / "ansible-playbook", playbook)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.name)
def test_syntax_core_216(playbook, ansible_216):
    result = _syntax_check(ansible_216, playbook)
    assert result.returncode == 0, result.stdout + result.stderr
