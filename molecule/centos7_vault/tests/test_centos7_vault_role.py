"""The repository files the centos7_vault role leaves (what yum on CentOS 7 would read).

The vault and the EPEL 7 archive are served by an offline mirror in their real layouts (prepare.yml,
from the Facts table in roles/centos7_vault/README.md): a baseurl is right only if a repository's
metadata is found under it.
"""

import configparser

import pytest

testinfra_hosts = ["ansible://all"]
MIRROR = "http://127.0.0.1:8899"
VAULT = f"{MIRROR}/centos-vault/7.9.2009"
# section of CentOS-Base.repo -> directory in the vault (the base repository lives in os/)
LAYOUT = {"base": "os", "updates": "updates", "extras": "extras"}


def repo_file(host, path):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(host.file(path).content_string)
    return parser


def http_status(host, url):
    return host.check_output(
        "python3 -c \"import sys, urllib.request, urllib.error\n"
        "try: print(urllib.request.urlopen(sys.argv[1]).status)\n"
        "except urllib.error.HTTPError as e: print(e.code)\" " + url
    )


@pytest.mark.parametrize("name", sorted(LAYOUT))
def test_each_section_points_at_its_vault_directory_with_gpg_checks(host, name):
    section = repo_file(host, "/etc/yum.repos.d/CentOS-Base.repo")[name]
    assert section["baseurl"] == f"{VAULT}/{LAYOUT[name]}/$basearch/"
    assert "mirrorlist" not in section  # the dead mirrorlist.centos.org is gone
    assert section["gpgcheck"] == "1"
    assert section["gpgkey"] == "file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7"
    assert section["enabled"] == "1"


@pytest.mark.parametrize("name", sorted(LAYOUT))
def test_each_baseurl_is_a_repository_in_the_vault_layout(host, name):
    # what yum does first: GET <baseurl>/repodata/repomd.xml ($basearch = x86_64)
    baseurl = repo_file(host, "/etc/yum.repos.d/CentOS-Base.repo")[name]["baseurl"]
    assert http_status(host, baseurl.replace("$basearch", "x86_64") + "repodata/repomd.xml") == "200"


def test_the_base_repository_is_not_under_base(host):
    # the layout itself: 7.9.2009/base/ does not exist in the vault (nor in the mirror built from it)
    assert http_status(host, f"{VAULT}/base/x86_64/repodata/repomd.xml") == "404"


def test_sections_the_role_does_not_manage_are_left_as_they_were(host):
    plus = repo_file(host, "/etc/yum.repos.d/CentOS-Base.repo")["centosplus"]
    assert plus["enabled"] == "0"
    assert plus["mirrorlist"].startswith("http://mirrorlist.centos.org/")


def test_epel_archive_with_its_key_is_a_repository(host):
    epel = repo_file(host, "/etc/yum.repos.d/epel.repo")["epel"]
    assert epel["baseurl"] == f"{MIRROR}/epel-archive/7/$basearch/"
    assert epel["gpgcheck"] == "1"
    assert epel["gpgkey"] == "https://archives.fedoraproject.org/pub/archive/epel/RPM-GPG-KEY-EPEL-7"
    assert http_status(host, epel["baseurl"].replace("$basearch", "x86_64") + "repodata/repomd.xml") == "200"


def test_no_release_variable_in_the_vault_paths(host):
    text = host.file("/etc/yum.repos.d/CentOS-Base.repo").content_string
    assert "must-not-appear" not in text
    assert "centos-vault/$releasever" not in text and "centos-vault/7/" not in text
