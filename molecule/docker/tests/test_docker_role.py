"""State the docker role must leave on a Debian 12 host (Docker-in-Docker)."""

import json

import pytest

testinfra_hosts = ["ansible://all"]


def test_engine_package_from_debian_is_installed(host):
    pkg = host.package("docker.io")
    assert pkg.is_installed
    assert pkg.version.startswith("20.10.")


def test_service_is_running_and_enabled(host):
    svc = host.service("docker")
    assert svc.is_running
    assert svc.is_enabled


def test_daemon_json_merged_and_existing_keys_kept(host):
    cfg = json.loads(host.file("/etc/docker/daemon.json").content_string)
    # written by prepare.yml before the role ran: must survive the merge
    assert cfg["labels"] == ["molecule.preexisting=kept"]
    # merged recursively: the pre-existing log-opts key stays beside the role's
    assert cfg["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert cfg["storage-driver"] == "overlay2"
    assert cfg["log-driver"] == "json-file"
    assert cfg["live-restore"] is True


def test_running_daemon_uses_the_merged_file(host):
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert info["Driver"] == "overlay2"
    assert info["LiveRestoreEnabled"] is True  # a dockerd restart leaves the OCR stacks running
    assert info["LoggingDriver"] == "json-file"
    assert "molecule.preexisting=kept" in info["Labels"]


def test_ce_repository_definition_points_at_the_mirror_and_is_signed(host):
    src = host.file("/etc/apt/sources.list.d/docker.sources")
    assert src.mode == 0o644
    lines = dict(
        line.split(": ", 1)
        for line in src.content_string.splitlines()
        if ": " in line and not line.startswith("#")
    )
    assert lines["URIs"] == "http://127.0.0.1:8899/docker/linux/debian"
    assert lines["Suites"] == "bookworm"
    assert lines["Components"] == "stable"
    assert lines["Signed-By"] == "/etc/apt/keyrings/docker.asc"
    key = host.file("/etc/apt/keyrings/docker.asc")
    assert key.content_string.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    # apt accepted the repository's signature with that key (it would refuse an unsigned/untrusted one)
    policy = host.check_output("apt-cache policy ocrstack-mirror-probe")
    assert "Candidate: 1.0-1" in policy
    assert "http://127.0.0.1:8899/docker/linux/debian bookworm/stable amd64 Packages" in policy


@pytest.mark.parametrize("plugin_dir", ["/usr/libexec/docker/cli-plugins"])
def test_no_compose_plugin_from_debian_12_distro_path(host, plugin_dir):
    # Debian 12 ships no compose v2 plugin: the distro path must not pretend to install one.
    assert not host.file(f"{plugin_dir}/docker-compose").exists
