"""Shared by the Molecule scenarios' testinfra tests (molecule/<scenario>/tests/).

A scenario may have a Debian instance and an el9 instance (molecule/_images/README.md); a test
module that states what ONE platform must look like says which with a module-level
`PLATFORM = "debian"` or `PLATFORM = "rocky"` (the os-release ID), and runs only there.
"""

import pytest


@pytest.fixture(autouse=True)
def _only_on_its_platform(request, host):
    wanted = getattr(request.module, "PLATFORM", None)
    if wanted is not None and host.system_info.distribution != wanted:
        pytest.skip(f"{request.module.__name__} states the {wanted} platform's state")


@pytest.fixture
def debian_only(host):
    """One test of a shared module that holds on the Debian platform only:
    `@pytest.mark.usefixtures("debian_only")`."""
    if host.system_info.distribution != "debian":
        pytest.skip("Debian platform only")


@pytest.fixture
def el9_only(host):
    """One test of a shared module that holds on the el9 platform only."""
    if host.system_info.distribution != "rocky":
        pytest.skip("el9 platform only")


@pytest.fixture
def yum_repo(host):
    """A function (path, repo id) -> that repository's settings as dnf reads them (a dict)."""
    import configparser

    def read(path, repo_id):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(host.file(path).content_string)
        return dict(parser[repo_id])

    return read
