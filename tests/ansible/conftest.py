"""The Molecule tests' platform images: built (or found in Docker's cache) once per module."""

import os
import subprocess

import pytest
from ocrstack_testing.molecule import REPO, docker_ready


@pytest.fixture(scope="module")
def platform_images():
    why = docker_ready()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Molecule scenarios must run in CI: {why}")
        pytest.skip(f"Molecule needs Docker: {why}")
    subprocess.run([str(REPO / "molecule" / "_images" / "build.sh")], cwd=REPO, check=True, timeout=900)
