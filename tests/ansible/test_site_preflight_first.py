"""site.yml checks every role on every host before it changes any host (issue 11, defect 13)."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# ocr_doctor is not deployed by site.yml: playbooks/doctor.yml runs it, and it only reads
ROLES_WITH_PREFLIGHT = sorted(
    p.parent.parent.name
    for p in (REPO / "roles").glob("*/tasks/preflight.yml")
    if p.parent.parent.name != "ocr_doctor"
)


def _list_tasks() -> str:
    spec = importlib.util.find_spec("ansible_collections")
    collections = str(Path(next(iter(spec.submodule_search_locations))).parent)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, NO_COLOR="1")
    env.pop("ANSIBLE_CONFIG", None)
    out = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventories/prod", "playbooks/site.yml", "--list-tasks"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_every_roles_preflight_is_in_the_preflight_playbook():
    plays = yaml.safe_load((REPO / "playbooks" / "preflight.yml").read_text())
    included = set()
    for play in plays:
        for task in play["tasks"]:
            include = task["ansible.builtin.include_role"]
            assert include["tasks_from"] == "preflight"
            names = task.get("loop", [include["name"]])
            included.update(names)
    assert included == set(ROLES_WITH_PREFLIGHT)


def test_site_runs_the_preflight_plays_before_any_play_that_changes_a_host():
    plays = re.findall(r"^  play #\d+ \(([^)]*)\): (.+?)\tTAGS: \[(.*?)\]", _list_tasks(), re.M)
    names = [name for _, name, _ in plays]
    first_change = next(i for i, name in enumerate(names) if not name.startswith("Preflight |"))
    assert first_change == 4, names
    assert all(not name.startswith("Preflight |") for name in names[first_change:]), names
    # they run whatever --tags the operator gives
    assert all(tags == "always" for _, name, tags in plays if name.startswith("Preflight |"))
    hosts = {name: pattern for pattern, name, _ in plays}
    assert hosts["Preflight | GPU host roles"] == "gpu_hosts:lb_hosts"
    assert hosts["Preflight | OCR stack"] == "ocr_hosts"


def test_the_gpu_hosts_play_is_rolling():
    plays = yaml.safe_load((REPO / "playbooks" / "gpu_hosts.yml").read_text())
    for play in plays:
        assert play["serial"] == "{{ ocr_gpu_hosts_serial | default(1) }}"
        assert play["max_fail_percentage"] == 0
