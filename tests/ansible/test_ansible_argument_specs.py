"""Every role documents and validates exactly the variables it defaults (one place each)."""

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


def test_there_are_roles():
    assert {"cuda_repo", "nvidia_driver", "docker", "nvidia_container_toolkit"} <= {r.name for r in ROLES}
