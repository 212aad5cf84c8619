"""State the docker role must leave on a Debian 12 host and on the el9 platform (Docker-in-Docker);
tests that hold on one platform only say so (usefixtures debian_only / el9_only)."""

import json

import pytest

testinfra_hosts = ["ansible://all"]


@pytest.mark.usefixtures("debian_only")
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
    # merged recursively: the pre-existing log-opts key stays beside the role's rotation
    # (docker_log_max_size from the inventory, max-file from docker_daemon_options)
    assert cfg["log-opts"] == {"compress": "true", "max-size": "20m", "max-file": "3"}
    assert cfg["storage-driver"] == "overlay2"
    assert cfg["log-driver"] == "json-file"
    assert cfg["live-restore"] is True


def test_new_containers_get_rotated_logs(host):
    # Issue 13: logs cannot fill the disk. An empty imported image is enough to create a container.
    host.check_output("tar -c --files-from /dev/null | docker import - molecule-logprobe:1")
    try:
        host.check_output("docker create --name molecule-logprobe molecule-logprobe:1 /none")
        inspect = "docker inspect --format '{{json .HostConfig.LogConfig}}' molecule-logprobe"
        config = json.loads(host.check_output(inspect))
    finally:
        host.run("docker rm -f molecule-logprobe; docker rmi molecule-logprobe:1")
    assert config["Type"] == "json-file"
    assert config["Config"]["max-size"] == "20m" and config["Config"]["max-file"] == "3"


def test_running_daemon_uses_the_merged_file(host):
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert info["Driver"] == "overlay2"
    assert info["LiveRestoreEnabled"] is True  # a dockerd restart leaves the OCR stacks running
    assert info["LoggingDriver"] == "json-file"
    assert "molecule.preexisting=kept" in info["Labels"]


@pytest.mark.usefixtures("debian_only")
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
@pytest.mark.usefixtures("debian_only")
def test_no_compose_plugin_from_debian_12_distro_path(host, plugin_dir):
    # Debian 12 ships no compose v2 plugin: the distro path must not pretend to install one.
    assert not host.file(f"{plugin_dir}/docker-compose").exists


# --- el9 (Rocky 9, dnf): Docker CE's rpm repository (centos/ on Rocky), the pinned packages ---------
EL9_MIRROR = "http://127.0.0.1:8899/linux"


@pytest.mark.usefixtures("el9_only")
@pytest.mark.parametrize(
    ("name", "evr"),
    [
        ("docker-ce", "3:28.5.2-1.el9"),
        ("docker-ce-cli", "1:28.5.2-1.el9"),
        ("containerd.io", "0:1.7.28-1.el9"),
        ("docker-compose-plugin", "0:2.40.3-1.el9"),
        ("container-selinux", "3:2.221.0-1.el9"),
    ],
)
def test_el9_ce_packages_at_the_pinned_versions(host, name, evr):
    assert host.check_output(f"rpm -q --qf '%{{EPOCHNUM}}:%{{VERSION}}-%{{RELEASE}}' {name}") == evr


@pytest.mark.usefixtures("el9_only")
def test_el9_ce_repository_is_dockers_centos_layout_with_its_key(host, yum_repo):
    section = yum_repo("/etc/yum.repos.d/docker-ce-stable.repo", "docker-ce-stable")
    assert section["baseurl"] == f"{EL9_MIRROR}/centos/9/$basearch/stable"
    assert section["gpgcheck"] == "1"
    assert section["gpgkey"] == f"{EL9_MIRROR}/centos/gpg"
    # the key dnf imported to check the packages is the one the repository names
    assert "ocrstack test rpm archive" in host.check_output("rpm -qi gpg-pubkey")


@pytest.mark.usefixtures("el9_only")
def test_el9_engine_binary_is_the_docker_ce_package(host):
    assert host.check_output("rpm -qf --qf '%{NAME}' /usr/sbin/dockerd") == "docker-ce"
    assert host.check_output("rpm -qf --qf '%{NAME}' /usr/bin/docker") == "docker-ce-cli"
