"""The repository files the centos7_vault role leaves (what yum on CentOS 7 would read)."""

import configparser

testinfra_hosts = ["ansible://all"]
VAULT = "http://mirror.example.internal/centos-vault/7.9.2009"


def repo_file(host, path):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(host.file(path).content_string)
    return parser


def test_base_updates_extras_point_at_the_vault_release_with_gpg_checks(host):
    repos = repo_file(host, "/etc/yum.repos.d/CentOS-Base.repo")
    for name in ("base", "updates", "extras"):
        section = repos[name]
        assert section["baseurl"] == f"{VAULT}/{name}/$basearch/"
        assert "mirrorlist" not in section  # the dead mirrorlist.centos.org is gone
        assert section["gpgcheck"] == "1"
        assert section["gpgkey"] == "file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7"
        assert section["enabled"] == "1"


def test_sections_the_role_does_not_manage_are_left_as_they_were(host):
    plus = repo_file(host, "/etc/yum.repos.d/CentOS-Base.repo")["centosplus"]
    assert plus["enabled"] == "0"
    assert plus["mirrorlist"].startswith("http://mirrorlist.centos.org/")


def test_epel_archive_with_its_key(host):
    epel = repo_file(host, "/etc/yum.repos.d/epel.repo")["epel"]
    assert epel["baseurl"] == "https://archives.fedoraproject.org/pub/archive/epel/7/$basearch/"
    assert epel["gpgcheck"] == "1"
    assert epel["gpgkey"].endswith("/RPM-GPG-KEY-EPEL-7")


def test_no_release_variable_in_the_vault_paths(host):
    text = host.file("/etc/yum.repos.d/CentOS-Base.repo").content_string
    assert "must-not-appear" not in text
    assert "centos-vault/$releasever" not in text and "centos-vault/7/" not in text
