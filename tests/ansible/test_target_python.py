"""The Python the roles run ON the managed hosts works on those hosts' Pythons.

`ansible.builtin.script` runs `roles/*/files/*.py` under `ansible_facts.python.executable`: Python
2.7 on CentOS 7, 3.6 on EL 8 (`platform-python`). Proof in two parts: a static check that always
runs (no f-strings, annotations, keyword-only arguments...: what 2.7 cannot parse), and the scripts
compiled and run under 2.7 and 3.6 where this machine has them (pyenv); skipped, with the reason,
where it has not. `test_docker_role_helpers.py` runs `repo_versions.py` on each of them too.
"""

import json
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from ocrstack_testing import target_python

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = target_python.target_scripts()
HAPROXY_SERVERS = ROOT / "roles" / "ocr_doctor" / "files" / "haproxy_servers.py"


def _old_python(version):
    found = target_python.interpreter(version)
    if found is None:
        pytest.skip(f"no Python {version} on this machine (pyenv or PATH): only the static check ran")
    return found


def test_every_python_file_a_role_runs_on_a_host_is_checked():
    """Every .py that a task hands to `ansible.builtin.script` is one of the checked files."""
    run = set()
    for tasks in ROOT.glob("roles/*/tasks/*.yml"):
        for task in yaml.safe_load(tasks.read_text()) or []:
            script = task.get("ansible.builtin.script") if isinstance(task, dict) else None
            if script:
                cmd = script["cmd"] if isinstance(script, dict) else script
                first = cmd.split()[0]
                if first.endswith(".py"):
                    run.add(tasks.parents[1] / "files" / first)
    assert run, "no role runs a Python script on a host any more: drop this test"
    assert run <= set(SCRIPTS), sorted(str(p) for p in run - set(SCRIPTS))


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_target_script_has_no_syntax_python_2_7_rejects(script):
    assert target_python.python2_incompatibilities(script.read_text(), script.name) == []


def test_the_static_check_finds_what_python_2_7_rejects():
    source = 'def f(a: int, *, b=1) -> str:\n    x = f"{a}"\n    print(a, b)\n    return x\n'
    found = " ".join(target_python.python2_incompatibilities(source))
    for what in ("annotation", "keyword-only", "f-string", "print()"):
        assert what in found


@pytest.mark.parametrize("version", ["2.7", "3.6"])
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_target_script_compiles_under_the_hosts_python(script, version, tmp_path):
    python = _old_python(version)
    out = subprocess.run(
        [
            python,
            "-c",
            "import py_compile, sys; py_compile.compile(sys.argv[1], sys.argv[2], doraise=True)",
            str(script),
            str(tmp_path / "x.pyc"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr


SHOW_STAT = (
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,\n"
    "ocr,FRONTEND,,,0,1,2000,3,0,0,0,0,0,,,,,OPEN,\n"
    "ocr_hosts,ocr-1,0,0,0,1,,3,0,0,,0,,0,0,0,0,UP,\n"
    "ocr_hosts,ocr-2,0,0,0,1,,3,0,0,,0,,0,0,0,0,DRAIN,\n"
    "ocr_hosts,BACKEND,0,0,0,1,200,3,0,0,0,0,,0,0,0,0,UP,\n"
    "\n"
)


@pytest.fixture()
def admin_socket(tmp_path):
    """A stand-in for HAProxy's runtime API socket: answers `show stat` with the CSV above."""
    path = str(tmp_path / "admin.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    server.settimeout(30)
    asked = []

    def serve():
        for _ in range(4):
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                asked.append(conn.recv(1024))
                conn.sendall(SHOW_STAT.encode())

    threading.Thread(target=serve, daemon=True).start()
    yield path, asked
    server.close()


@pytest.mark.parametrize("version", ["this", "2.7", "3.6"])
def test_haproxy_servers_reads_the_pool_on_the_hosts_python(admin_socket, version):
    python = sys.executable if version == "this" else _old_python(version)
    path, asked = admin_socket
    out = subprocess.run(
        [python, str(HAPROXY_SERVERS), path, "ocr_hosts"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"servers": {"ocr-1": "UP", "ocr-2": "DRAIN"}, "error": ""}
    assert asked == [b"show stat\n"]


@pytest.mark.parametrize("version", ["this", "2.7", "3.6"])
def test_haproxy_servers_names_a_socket_it_cannot_reach(tmp_path, version):
    python = sys.executable if version == "this" else _old_python(version)
    missing = str(tmp_path / "nothing.sock")
    out = subprocess.run(
        [python, str(HAPROXY_SERVERS), missing, "ocr_hosts"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["servers"] == {}
    assert re.match(re.escape(missing) + r": .*(No such file|Errno 2)", answer["error"])
