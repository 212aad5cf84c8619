"""Every role documents and validates exactly the variables it defaults (one place each)."""

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent for p in (REPO / "roles").glob("*/defaults/main.yml"))


def _load(path: Path):
    return yaml.safe_load(path.read_text()) or {}


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_argument_specs_match_defaults(role):
    defaults = _load(role / "defaults" / "main.yml")
    spec_file = role / "meta" / "argument_specs.yml"
    assert spec_file.exists(), f"{role.name}: meta/argument_specs.yml missing"
    options = _load(spec_file)["argument_specs"]["main"]["options"]
    assert sorted(options) == sorted(defaults), (
        f"{role.name}: only in defaults: {sorted(set(defaults) - set(options))}; "
        f"only in argument_specs: {sorted(set(options) - set(defaults))}"
    )
    for name, value in defaults.items():
        spec = options[name]
        assert spec.get("description"), f"{role.name}: {name} has no description"
        templated = isinstance(value, str) and "{{" in value
        if not templated:
            assert spec.get("default") == value, (
                f"{role.name}: {name} default {spec.get('default')!r} != {value!r}"
            )


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_public_variables_are_prefixed_and_in_the_readme(role):
    defaults = _load(role / "defaults" / "main.yml")
    readme = (role / "README.md").read_text()
    for name in defaults:
        assert name.startswith(role.name + "_"), f"{role.name}: {name} lacks the role prefix"
        assert f"`{name}`" in readme, f"{role.name}: README.md does not list {name}"


def test_every_role_the_playbooks_run_has_its_variables_checked_here():
    # The tests above cover ROLES; a role a playbook runs (or a role depends on) that they miss
    # would have unvalidated, undocumented variables.
    used = set()
    for playbook in (REPO / "playbooks").glob("*.yml"):
        used |= set(re.findall(r"^\s*-?\s*role:\s*([\w.]+)", playbook.read_text(), re.M))
        used |= set(re.findall(r"^\s*name:\s*([\w.]+)\s*$", playbook.read_text(), re.M)) & {
            p.name for p in (REPO / "roles").iterdir()
        }
    for meta in (REPO / "roles").glob("*/meta/main.yml"):
        used |= set(re.findall(r"^\s*-\s*role:\s*([\w.]+)", meta.read_text(), re.M))
    assert used, "no role found in playbooks/"
    assert used <= {r.name for r in ROLES}, f"not covered: {sorted(used - {r.name for r in ROLES})}"
