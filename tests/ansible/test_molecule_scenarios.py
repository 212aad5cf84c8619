"""Each CI Molecule scenario (molecule/<name>/) passes: create, prepare, converge, idempotence,
side effect (bad input), verify, destroy. `gpu` needs a real GPU host and is not run here.

Without a Docker engine these skip, except under CI=true where they fail: CI must run them.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NOT_IN_CI = {"gpu"}
SCENARIOS = sorted(
    p.parent.name
    for p in (REPO / "molecule").glob("*/molecule.yml")
    if not p.parent.name.startswith("_") and p.parent.name not in NOT_IN_CI
)

pytestmark = [pytest.mark.slow, pytest.mark.molecule]


def _docker_ready() -> str | None:
    """None when the engine answers and the local base image exists, else why not."""
    if shutil.which("docker") is None:
        return "no docker CLI"
    if subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode != 0:
        return "docker engine not reachable"
    if subprocess.run(["docker", "image", "inspect", "debian:bookworm"], capture_output=True).returncode != 0:
        return "no local debian:bookworm image (.ci/docker-engine makes it)"
    return None


@pytest.fixture(scope="module")
def platform_images():
    why = _docker_ready()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Molecule scenarios must run in CI: {why}")
        pytest.skip(f"Molecule needs Docker: {why}")
    subprocess.run([str(REPO / "molecule" / "_images" / "build.sh")], cwd=REPO, check=True, timeout=900)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, platform_images):
    env = dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        VIRTUAL_ENV=str(BIN.parent),
        NO_COLOR="1",
        PY_COLORS="0",
        ANSIBLE_FORCE_COLOR="0",
    )
    start = time.monotonic()
    result = subprocess.run(
        [str(BIN / "molecule"), "test", "-s", scenario],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1200,
    )
    wall = time.monotonic() - start
    print(f"molecule test -s {scenario}: rc={result.returncode} in {wall:.0f} s")
    assert result.returncode == 0, (result.stdout + result.stderr)[-12000:]
