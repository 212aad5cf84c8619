"""State the cuda_repo role must leave on the el9 platform (Rocky 9, dnf): NVIDIA's rhel9 repository
(from the scenario's offline mirror in NVIDIA's layout) known to dnf, with its packages' signatures
checked against the key the repository definition names, and its nvidia-driver module streams.
The platform's limits: molecule/_images/README.md."""

testinfra_hosts = ["ansible://all"]
PLATFORM = "rocky"

MIRROR = "http://127.0.0.1:8899"
REPO = f"{MIRROR}/compute/cuda/repos/rhel9/x86_64"
REPO_ID = "cuda-rhel9-x86_64"


def test_repository_definition_is_nvidia_rhel9_with_gpgcheck(host, yum_repo):
    f = host.file("/etc/yum.repos.d/cuda-rhel9.repo")
    assert f.user == "root" and f.mode == 0o644
    section = yum_repo("/etc/yum.repos.d/cuda-rhel9.repo", REPO_ID)
    assert section["baseurl"] == REPO
    assert section["enabled"] == "1"
    assert section["gpgcheck"] == "1"
    # NVIDIA's EL key file lives in the repository folder (README: Facts)
    assert section["gpgkey"] == f"{REPO}/D42D0685.pub"


def test_dnf_reads_the_repository_and_lists_both_driver_versions(host):
    out = host.check_output(
        f"dnf -q --disablerepo='*' --enablerepo={REPO_ID} --showduplicates list --available nvidia-driver"
    )
    assert "3:535.261.03-1.el9" in out and "3:535.288.01-1.el9" in out, out


def test_dnf_sees_the_nvidia_driver_module_streams(host):
    out = host.check_output(f"dnf -q --disablerepo='*' --enablerepo={REPO_ID} module list nvidia-driver")
    for stream in ("535 ", "535-dkms", "latest ", "latest-dkms"):
        assert f"nvidia-driver {stream}" in " ".join(out.split()) + " ", out


def test_packages_verify_against_the_key_the_repository_names_and_not_another(host):
    # rpm's own signature check, in a throw-away rpm database (the host's stays untouched)
    script = (
        "set -e; d=$(mktemp -d); cd $d; "
        f"dnf -q --disablerepo='*' --enablerepo={REPO_ID} download nvidia-modprobe-3:535.261.03 >/dev/null; "
        "python3 -c \"import urllib.request;open('key','wb')"
        f".write(urllib.request.urlopen('{REPO}/D42D0685.pub').read())\"; "
        "rpm --dbpath $d/db --initdb; echo -n 'without key: '; rpm --dbpath $d/db -K *.rpm || true; "
        "rpm --dbpath $d/db --import key; echo -n 'with key: '; rpm --dbpath $d/db -K *.rpm; rm -rf $d"
    )
    out = host.check_output(script)
    without, with_key = out.split("with key: ")
    assert "SIGNATURES NOT OK" in without or "NOKEY" in without, out
    assert with_key.strip().endswith("digests signatures OK"), out
