"""The `site` scenario (molecule/site/): the whole of playbooks/site.yml on three offline hosts, in a
sequence of its own (the mode flip). A file of its own, so that under `make test` one worker runs it
from start to end while the other runs the roles' scenarios and the rest (tests/conftest.py).

Without a Docker engine it skips, except under CI=true where it fails: CI must run it.
"""

import pytest
from ocrstack_testing.molecule import molecule, output

pytestmark = [pytest.mark.slow, pytest.mark.molecule]

# The figures molecule/site/tests/test_site.py prints for its drills.
DRILLS = ("failure drill:", "broken model rollout:", "release upgrade under load:")


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
