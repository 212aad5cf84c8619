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
# gpu needs a real GPU host; site has its own sequence (the mode flip) below. The doctor's probes run
# in the site scenario's verify on the hosts site converges (pool, stack, disk, clock, for real);
# doctor (~10 min) keeps only the NVIDIA findings, which need fake NVIDIA tools and an nvidia runtime
# in a host's Docker that the site's hosts must not get: run by hand (`molecule test -s doctor`).
NOT_IN_CI = {"gpu", "site", "doctor"}
SCENARIOS = sorted(
    p.parent.name
    for p in (REPO / "molecule").glob("*/molecule.yml")
    if not p.parent.name.startswith("_") and p.parent.name not in NOT_IN_CI
)
# `make test` runs the suite on two pytest-xdist workers (tests/conftest.py): the scenarios go in two
# lanes, each an xdist group that one worker runs start to end. The scenarios that serve OCR on their
# hosts with real TensorFlow (site's drills, ocr_stack's smoke pages) share one lane, so that they
# never take the cores from each other; the other scenarios, and then the rest of the suite, the other.
OCR_LANE, ROLES_LANE = "molecule-ocr-hosts", "molecule-roles"
OCR_SCENARIOS = {"ocr_stack"}

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


def molecule(
    action: str, *ansible_args: str, scenario: str, extra_env: dict | None = None, no_network: bool = False
) -> subprocess.CompletedProcess:
    """`molecule <action> -s <scenario> [-- ansible_args]`; `no_network`: in a network namespace of
    its own (`unshare --net`: no interface but a loopback that is down), so the controller reaches
    the hosts through the Docker engine's unix socket and nothing else."""
    env = dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        VIRTUAL_ENV=str(BIN.parent),
        NO_COLOR="1",
        PY_COLORS="0",
        ANSIBLE_FORCE_COLOR="0",
        **(extra_env or {}),
    )
    start = time.monotonic()
    result = subprocess.run(
        [*(["unshare", "--net", "--"] if no_network else []), str(BIN / "molecule"), action, "-s", scenario,
         *(["--", *ansible_args] if ansible_args else [])],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    wall = time.monotonic() - start
    command = " ".join(
        [action, "-s", scenario, *ansible_args, *(f"{k}={v}" for k, v in (extra_env or {}).items())]
        + (["(controller without network)"] if no_network else [])
    )
    print(f"molecule {command}: rc={result.returncode} in {wall:.0f} s")
    if os.environ.get("MOLECULE_STEP_LOGS"):  # where the time goes: profile_tasks, pytest's own
        logs = Path(os.environ["MOLECULE_STEP_LOGS"])
        logs.mkdir(parents=True, exist_ok=True)
        step = len(list(logs.glob(f"{scenario}-*.log"))) + 1
        name = "-".join([scenario, f"{step:02d}", action, *(extra_env or {}).values()])
        (logs / f"{name}.log").write_text(f"$ molecule {command}\n{result.stdout}\n{result.stderr}")
    return result


# Lines of Ansible's and Molecule's output that say what failed: a task's `fatal:` / `failed:`
# result (shown under its task's heading) and Molecule's own ERROR lines.
TASK_FAILURE_MARKS = ("fatal: [", "failed: [")
FAILURE_MARKS = (*TASK_FAILURE_MARKS, "ERROR ")


def output(result: subprocess.CompletedProcess, tail: int = 20000) -> str:
    """What a failed run's assertion shows: the lines that say what failed, each with the task
    heading before it, then the run's tail. A long run's tail alone can end past the failure (the
    side effect of a scenario that was followed by destroy) and CI shows only a part of it."""
    text = result.stdout + result.stderr
    lines = text.splitlines()
    failures = []
    for i, line in enumerate(lines):
        if not any(mark in line for mark in FAILURE_MARKS):
            continue
        if line.startswith(TASK_FAILURE_MARKS):
            headings = (lines[j] for j in range(i, max(i - 40, -1), -1) if lines[j].startswith("TASK ["))
            heading = next(headings, None)
            if heading:
                failures.append(heading)
        failures.append(line[:3000])
    head = "what failed (rescued failures too):\n" + "\n".join(failures) + "\n\n" if failures else ""
    return head + "the output's tail:\n" + text[-tail:]


def lane(scenario: str) -> pytest.MarkDecorator:
    return pytest.mark.xdist_group(OCR_LANE if scenario in OCR_SCENARIOS else ROLES_LANE)


@pytest.mark.parametrize("scenario", [pytest.param(s, marks=lane(s)) for s in SCENARIOS])
def test_molecule_scenario(scenario, platform_images):
    result = molecule("test", scenario=scenario)
    assert result.returncode == 0, output(result)


# The figures molecule/site/tests/test_site.py prints for its drills.
DRILLS = ("failure drill:", "broken model rollout:", "release upgrade under load:")


@pytest.mark.xdist_group(OCR_LANE)
def test_site_on_offline_hosts_then_host_a_flips_to_tfserving(platform_images, record_property):
    """molecule/site: playbooks/site.yml on three hosts without a route out, run by a controller
    without a network either (issue 16 item 4: the first converge in a network namespace of its
    own: images, models, roles and collections are all on the controller); a second run in
    --check --diff mode reports nothing to change (the check mode an operator runs first, and the
    converge's idempotence at once: one run instead of two); verify (each host's mode, the load
    balancer's spreading, host B failing under load, the drills); then host A flipped to tfserving
    in the inventory: converge, verify again. The flip gets no second run of its own (~2 min of
    CI): the check-mode run above already proves site.yml changes nothing on a tfserving host
    (site-b), the flip's verify that nothing of host A's single-mode stack is left, and the
    ocr_stack scenario runs the role's own switch single -> tfserving twice."""
    flip = {"SITE_A_MODE": "tfserving"}
    try:
        for step, ansible_args, extra_env, cut in (
            ("destroy", (), None, False), ("create", (), None, False), ("prepare", (), None, False),
            ("converge", (), None, True), ("idempotence", ("--check", "--diff"), None, False),
            ("verify", (), None, False),
            ("converge", (), flip, False), ("verify", (), flip, False),
        ):  # fmt: skip
            result = molecule(step, *ansible_args, scenario="site", extra_env=extra_env, no_network=cut)
            for line in result.stdout.splitlines():
                if any(drill in line for drill in DRILLS):
                    # the drill's figures go to the CI log, pass or fail (tests/conftest.py prints them)
                    record_property("figures", line.strip())
            assert result.returncode == 0, f"{step} {ansible_args} {extra_env or ''}\n{output(result)}"
    finally:
        molecule("destroy", scenario="site")
