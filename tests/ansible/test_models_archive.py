"""The controller reads and packs the models of each host for that host, whatever the other hosts
of its batch have: the versions and their content (roles/ocr_stack/tasks/model_digests.yml, in
preflight), and the archives of the versions a host lacks (models_archive.yml).

install.yml imports those tasks under its per-host condition (the host has versions to install).
A task run once for the batch would be decided by the batch's first host alone: with
`ocr_deploy_serial` above 1, a first host that is up to date would leave the next one without its
archive, and its unarchive would fail. The play here imports them as install.yml does, for two hosts
in one batch, of which only the second needs a version.
"""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path

from ocrstack_testing.ansible_play import run_local_play

PLAY = """
- hosts: first:second
  gather_facts: false
  tasks:
    - ansible.builtin.set_fact:
        _ocr_stack_new_versions: "{{ needs[inventory_hostname] }}"

    # install.yml's own condition, evaluated for each host
    - ansible.builtin.import_role:
        name: ocr_stack
        tasks_from: models_archive
      when: _ocr_stack_new_versions | length > 0

    - name: each archive, copied where the test reads it
      ansible.builtin.copy:
        src: "{{ _ocr_stack_models_tmp.path }}/{{ item | replace('/', '-') }}.tar"
        dest: "{{ out }}/{{ inventory_hostname }}-{{ item | replace('/', '-') }}.tar"
        mode: "0600"
      loop: "{{ _ocr_stack_new_versions }}"

    - name: the controller's temporary folder removed (install.yml does it after unpacking)
      ansible.builtin.file:
        path: "{{ _ocr_stack_models_tmp.path }}"
        state: absent
      delegate_to: localhost
      when: _ocr_stack_new_versions | length > 0
"""


DIGESTS = """
- hosts: first:second
  gather_facts: false
  tasks:
    - ansible.builtin.import_role:
        name: ocr_stack
        tasks_from: model_digests

    - name: what the role wants on each host, where the test reads it
      ansible.builtin.copy:
        content: "{{ {'wanted': _ocr_stack_models_wanted, 'newest': _ocr_stack_newest_versions} | to_json }}"
        dest: "{{ out }}/{{ inventory_hostname }}.json"
        mode: "0600"
      delegate_to: localhost
"""


def two_local_hosts(tmp_path: Path) -> Path:
    local = f"ansible_connection=local ansible_python_interpreter={sys.executable}"
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("".join(f"{host} {local}\n" for host in ("first", "second", "localhost")))
    return inventory


def saved_model(root: Path, version: str, graph: bytes) -> None:
    (root / "crnn" / version / "variables").mkdir(parents=True)
    (root / "crnn" / version / "saved_model.pb").write_bytes(graph)
    (root / "crnn" / version / "variables" / "variables.index").write_bytes(b"index")


def test_each_host_of_a_batch_is_planned_with_its_own_models(tmp_path):
    # a canary: the second host is given another models folder, with a changed crnn/7 and a crnn/8
    fleet, canary = tmp_path / "fleet", tmp_path / "canary"
    saved_model(fleet, "7", b"graph 7")
    saved_model(canary, "7", b"graph 7, retrained")
    saved_model(canary, "8", b"graph 8")
    out = tmp_path / "out"
    out.mkdir()
    inventory = two_local_hosts(tmp_path)
    (tmp_path / "host_vars").mkdir()
    for host, models in (("first", fleet), ("second", canary)):
        (tmp_path / "host_vars" / f"{host}.yml").write_text(f"ocr_stack_models_src: {models}\n")
    extra = {"ocr_stack_models": ["crnn"], "out": str(out)}
    run = run_local_play(tmp_path, DIGESTS, extra, "-i", str(inventory))
    assert run.returncode == 0, run.stdout + run.stderr
    first, second = (json.loads((out / f"{h}.json").read_text()) for h in ("first", "second"))
    assert first["newest"] == {"crnn": 7} and second["newest"] == {"crnn": 8}
    assert sorted(first["wanted"]) == ["crnn/7"] and sorted(second["wanted"]) == ["crnn/7", "crnn/8"]
    assert first["wanted"]["crnn/7"] != second["wanted"]["crnn/7"]


def test_the_second_host_of_a_batch_gets_its_archive_when_the_first_needs_none(tmp_path):
    models = tmp_path / "models"
    (models / "crnn" / "7" / "variables").mkdir(parents=True)
    (models / "crnn" / "7" / "saved_model.pb").write_bytes(b"graph")
    (models / "crnn" / "7" / "variables" / "variables.index").write_bytes(b"index")
    out = tmp_path / "out"
    out.mkdir()
    inventory = two_local_hosts(tmp_path)
    extra = {
        "ocr_stack_models_src": str(models),
        "needs": {"first": [], "second": ["crnn/7"]},
        "out": str(out),
    }
    run = run_local_play(tmp_path, PLAY, extra, "-i", str(inventory))
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(p.name for p in out.iterdir()) == ["second-crnn-7.tar"]
    with tarfile.open(out / "second-crnn-7.tar") as tar:
        names = sorted(n for n in tar.getnames() if not tar.getmember(n).isdir())
    assert names == ["7/saved_model.pb", "7/variables/variables.index"]
