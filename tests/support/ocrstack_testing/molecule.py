"""Molecule from the tests: `molecule <action> -s <scenario>` in this checkout, with the virtualenv's
tools, each step's output kept where MOLECULE_STEP_LOGS says, and a failure's lines found for the
assertion message. Used by tests/ansible/test_molecule_scenarios.py and test_molecule_site.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def docker_ready() -> str | None:
    """None when the engine answers and the local base image exists, else why not."""
    if shutil.which("docker") is None:
        return "no docker CLI"
    if subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode != 0:
        return "docker engine not reachable"
    if subprocess.run(["docker", "image", "inspect", "debian:bookworm"], capture_output=True).returncode != 0:
        return "no local debian:bookworm image (.ci/docker-engine makes it)"
    return None


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
