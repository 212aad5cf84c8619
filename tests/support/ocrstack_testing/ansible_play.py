"""Run a small play on localhost with this checkout's roles, as the Ansible tests do.

The play sees the roles of `roles/` and none of a developer's own Ansible configuration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def run_local_play(
    tmp_path: Path, play: str, extra_vars: dict | None = None, *args: str
) -> subprocess.CompletedProcess:
    """`ansible-playbook` of `play` (YAML text) on localhost over the local connection, in tmp_path;
    `extra_vars` as one JSON `-e`, `args` appended as they are."""
    (tmp_path / "play.yml").write_text(play)
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(ROOT / "roles"), NO_COLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.pop("ANSIBLE_CONFIG", None)
    command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "play.yml", *args]
    if extra_vars is not None:
        command += ["-e", json.dumps(extra_vars)]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def role_tasks_play(tasks_from: str, role: str = "ocr_stack") -> str:
    """A play on localhost that runs one task file of `role` (its defaults loaded, as a run would)."""
    return f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: {role}
        tasks_from: {tasks_from}
"""


def _trusted(value):
    """Role files are trusted templates to Ansible (2.19 templates only trusted strings)."""
    from ansible.template import trust_as_template

    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


def role_vars(role: str, *files: str, **variables):
    """A function giving a variable of `role` as Ansible renders it, without a host: the role's
    defaults/main.yml, then each of `files` (paths inside the role, e.g. "vars/RedHat.yml"), then
    `variables` (facts, registered results), the later winning."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    loader = DataLoader()
    merged = {}
    for name in ("defaults/main.yml", *files):
        merged.update(_trusted(dict(loader.load_from_file(str(ROOT / "roles" / role / name)))))
    merged.update(variables)
    templar = Templar(loader=loader, variables=merged)
    return lambda name: templar.template(merged[name])
