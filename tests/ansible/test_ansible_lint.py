"""ansible-lint (production profile, .ansible-lint) and yamllint (.yamllint) are clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _env():
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", NO_COLOR="1", PY_COLORS="0")
    env.pop("ANSIBLE_CONFIG", None)
    return env


def test_yamllint_clean():
    targets = [
        p
        for p in ("roles", "playbooks", "molecule", "requirements.yml", ".ansible-lint", ".yamllint")
        if (REPO / p).exists()
    ]
    result = subprocess.run(
        [str(BIN / "yamllint"), "--strict", "-f", "parsable", *targets],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_ansible_lint_production_profile_clean():
    result = subprocess.run(
        [
            str(BIN / "ansible-lint"),
            "--offline",
            "--profile",
            "production",
            "--nocolor",
            "roles",
            "playbooks",
            "molecule",
        ],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-8000:]
