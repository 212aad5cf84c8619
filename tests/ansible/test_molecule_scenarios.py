"""Each CI Molecule scenario (molecule/<name>/) passes: create, prepare, converge, idempotence,
side effect (bad input), verify, destroy. `gpu` needs a real GPU host and is not run here; `site`
has a sequence of its own (test_molecule_site.py).

Without a Docker engine these skip, except under CI=true where they fail: CI must run them.
"""

import pytest
from ocrstack_testing.molecule import REPO, molecule, output

# gpu needs a real GPU host; site has its own sequence (the mode flip, test_molecule_site.py). The
# doctor's probes run in the site scenario's verify on the hosts site converges (pool, stack, disk,
# clock, for real); doctor (~10 min) keeps only the NVIDIA findings, which need fake NVIDIA tools and
# an nvidia runtime in a host's Docker that the site's hosts must not get: run by hand
# (`molecule test -s doctor`).
NOT_IN_CI = {"gpu", "site", "doctor"}
SCENARIOS = sorted(
    p.parent.name
    for p in (REPO / "molecule").glob("*/molecule.yml")
    if not p.parent.name.startswith("_") and p.parent.name not in NOT_IN_CI
)

pytestmark = [pytest.mark.slow, pytest.mark.molecule]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, platform_images):
    result = molecule("test", scenario=scenario)
    assert result.returncode == 0, output(result)
