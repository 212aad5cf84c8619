"""State the cuda_repo role must leave on a Debian 12 host, against the scenario's offline mirror."""

testinfra_hosts = ["ansible://all"]
PLATFORM = "debian"  # el9: test_cuda_repo_el9.py

MIRROR = "http://127.0.0.1:8899"
REPO = f"{MIRROR}/compute/cuda/repos/debian12/x86_64"
KEYRING = "/usr/share/keyrings/cuda-archive-keyring.asc"


def _deb822(text):
    return dict(
        line.split(": ", 1) for line in text.splitlines() if ": " in line and not line.startswith("#")
    )


def test_source_is_the_flat_debian12_repo_signed_by_the_keyring(host):
    src = host.file("/etc/apt/sources.list.d/cuda.sources")
    assert src.mode == 0o644
    fields = _deb822(src.content_string)
    assert fields == {"Types": "deb", "URIs": f"{REPO}/", "Suites": "/", "Signed-By": KEYRING}


def test_keyring_is_the_key_the_mirror_serves(host):
    served = host.check_output(
        "python3 -c \"import urllib.request;"
        f"print(urllib.request.urlopen('{MIRROR}/keys/test-archive.asc').read().decode())\""
    )
    keyring = host.file(KEYRING)
    assert keyring.user == "root" and keyring.mode == 0o644
    assert keyring.content_string.strip() == served.strip()
    assert keyring.content_string.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")


def test_apt_trusts_the_repository_and_prefers_it(host):
    # apt only lists the probe package if the InRelease signature checked out with the keyring
    policy = host.check_output("apt-cache policy cuda-mirror-probe")
    assert "Candidate: 12.9.1-1" in policy
    assert f"600 {REPO}  Packages" in policy


def test_apt_refuses_the_repository_with_another_key(host):
    # The signature check is real: the same source signed-by Debian's keyring must be rejected.
    # Runs on copies (own sources dir and lists dir) so the host's apt state is untouched.
    result = host.run(
        "set -e; d=$(mktemp -d); mkdir -p $d/sp $d/lists/partial; "
        "sed 's#^Signed-By: .*#Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg#' "
        "/etc/apt/sources.list.d/cuda.sources > $d/sp/cuda.sources; "
        "apt-get update -o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts=$d/sp "
        "-o Dir::State::Lists=$d/lists 2>&1 || true; rm -rf $d"
    )
    assert "NO_PUBKEY" in result.stdout or "is not signed" in result.stdout, result.stdout


def test_pin_file(host):
    pin = host.file("/etc/apt/preferences.d/cuda-repository-pin-600")
    assert "Pin: origin 127.0.0.1" in pin.content_string
    assert "Pin-Priority: 600" in pin.content_string
