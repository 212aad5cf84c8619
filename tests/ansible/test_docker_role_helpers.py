"""The docker role's own Python: daemon.json key removal, pinned-version lookup, repository index reading.

These run on plain data here; the Molecule scenario runs them through the role on a host.
"""

import gzip
import http.server
import importlib.util
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from ocrstack_testing import target_python

ROLE = Path(__file__).resolve().parents[2] / "roles" / "docker"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


filters = _load("docker_filters", ROLE / "filter_plugins" / "docker_filters.py")
REPO_VERSIONS = ROLE / "files" / "repo_versions.py"


def test_removing_the_nvidia_keys_keeps_every_other_key():
    config = {
        "runtimes": {"nvidia": {"path": "nvidia-container-runtime", "args": []}, "runsc": {"path": "runsc"}},
        "default-runtime": "nvidia",
        "labels": ["site=kept"],
        "live-restore": True,
    }
    out = filters.docker_daemon_json_remove(config, ["runtimes.nvidia", "default-runtime=nvidia"])
    assert out == {"runtimes": {"runsc": {"path": "runsc"}}, "labels": ["site=kept"], "live-restore": True}
    assert config["default-runtime"] == "nvidia"  # the input is not modified


def test_a_parent_left_empty_goes_too():
    out = filters.docker_daemon_json_remove({"runtimes": {"nvidia": {}}, "x": 1}, ["runtimes.nvidia"])
    assert out == {"x": 1}


def test_a_value_condition_keeps_a_default_runtime_someone_else_set():
    config = {"default-runtime": "runc"}
    assert filters.docker_daemon_json_remove(config, ["default-runtime=nvidia"]) == config


def test_removing_keys_that_are_not_there_changes_nothing():
    config = {"a": {"b": 1}, "c": "d"}
    assert filters.docker_daemon_json_remove(config, ["x.y", "a.z", "c.q", "nope"]) == config


def test_pinned_versions_match_with_epoch_and_release():
    offered = {
        "docker-ce": ["3:26.1.3-1.el8", "3:26.1.4-1.el8"],
        "docker-ce-cli": ["1:26.1.4-1.el8"],
        "containerd.io": ["1.6.33-3.1.el7"],
        "docker-compose-plugin": ["5:28.5.2-1~debian.12~bookworm"],
    }
    wanted = {"docker-ce": "26.1.4", "docker-ce-cli": "26.1.4", "containerd.io": "1.6.33",
              "docker-compose-plugin": "28.5.2"}
    assert filters.docker_missing_versions(wanted, offered) == []


def test_a_version_never_published_is_reported_with_what_is_offered():
    missing = filters.docker_missing_versions({"docker-ce": "28.5.2"}, {"docker-ce": ["3:26.1.4-1.el7"]})
    assert missing == [{"name": "docker-ce", "version": "28.5.2", "offered": ["3:26.1.4-1.el7"]}]
    # a prefix is not a match: 28.5 is not 28.5.2
    assert filters.docker_missing_versions({"docker-ce": "28.5"}, {"docker-ce": ["3:28.5.2-1.el9"]})


PRIMARY = """<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" packages="2">
<package type="rpm"><name>docker-ce</name><arch>x86_64</arch>
  <version epoch="3" ver="26.1.4" rel="1.el7"/></package>
<package type="rpm"><name>containerd.io</name><arch>x86_64</arch>
  <version epoch="0" ver="1.6.33" rel="3.1.el7"/></package>
</metadata>
"""
REPOMD = """<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
<data type="primary"><location href="repodata/abc-primary.xml.gz"/></data>
</repomd>
"""
PACKAGES = """Package: docker-ce
Version: 5:28.5.2-1~debian.12~bookworm
Architecture: amd64

Package: containerd.io
Version: 1.7.28-1~debian.12~bookworm
Architecture: amd64
"""


@pytest.fixture()
def served(tmp_path):
    rpm = tmp_path / "centos" / "7" / "x86_64" / "stable" / "repodata"
    rpm.mkdir(parents=True)
    (rpm / "repomd.xml").write_text(REPOMD)
    (rpm / "abc-primary.xml.gz").write_bytes(gzip.compress(PRIMARY.encode()))
    apt = tmp_path / "debian" / "dists" / "bookworm" / "stable" / "binary-amd64"
    apt.mkdir(parents=True)
    (apt / "Packages").write_text(PACKAGES)  # no Packages.gz: the plain index is read instead

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


# The script runs on the host's own Python: 2.7 on CentOS 7, 3.6 on EL 8 (platform-python), newer
# elsewhere. Those found here run it too (skipped, with the reason, where none is installed).
@pytest.fixture(params=["this", "2.7", "3.6"])
def python(request):
    if request.param == "this":
        return sys.executable
    found = target_python.interpreter(request.param)
    if found is None:
        pytest.skip(f"no Python {request.param} on this machine (pyenv or PATH)")
    return found


def _run(python, *args):
    out = subprocess.run([python, str(REPO_VERSIONS), *args], capture_output=True, text=True, timeout=60)
    assert out.stdout, out.stderr
    return out.returncode, json.loads(out.stdout)


def test_repo_versions_reads_a_yum_repository(served, python):
    names = ("docker-ce", "containerd.io", "docker-compose-plugin")
    rc, out = _run(python, "rpm", f"{served}/centos/7/x86_64/stable", *names)
    assert rc == 0
    assert out["versions"] == {"docker-ce": ["3:26.1.4-1.el7"], "containerd.io": ["1.6.33-3.1.el7"],
                               "docker-compose-plugin": []}


def test_repo_versions_reads_an_apt_repository(served, python):
    names = ("docker-ce", "containerd.io")
    rc, out = _run(python, "apt", f"{served}/debian", "bookworm", "stable", "amd64", *names)
    assert rc == 0
    assert out["url"].endswith("/dists/bookworm/stable/binary-amd64/Packages")
    assert out["versions"] == {"docker-ce": ["5:28.5.2-1~debian.12~bookworm"],
                               "containerd.io": ["1.7.28-1~debian.12~bookworm"]}


def test_repo_versions_says_which_index_it_could_not_read(served, python):
    rc, out = _run(python, "rpm", f"{served}/centos/8/x86_64/stable", "docker-ce")
    assert rc == 1
    assert "404" in out["error"]
