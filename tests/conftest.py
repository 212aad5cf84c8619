"""Hooks of the whole suite.

`make test` (and so CI) runs it on two pytest-xdist workers, `-n 2 --dist loadfile
--no-loadscope-reorder`: CI's machine has two cores, and the Molecule scenarios, three quarters of
the suite's time, mostly wait on containers, image tarballs and health checks. A worker runs a test
file from start to end, so the two files of scenarios first in FIRST_FILES are two lanes, one per
worker; the other files go to whichever worker is free. (Not `--dist loadgroup`: with pytest 9.2
its xdist_group marks group nothing, since xdist 3.8 renames a test's node id by an attribute pytest
no longer reads: pytest-dev/pytest-xdist#1386, open, checked here on 2026-12-07.)
"""

import pytest

# The longest first, one per worker: the site scenario (~25 min alone), then the roles' scenarios
# (~17 min). xdist hands out files in collection order (--no-loadscope-reorder): one to each worker,
# then more to a worker with at most 2 tests pending. The site's worker (1 test) so takes the third
# file at once and runs it only after the site, so the third is a file of two quick tests.
FIRST_FILES = (
    "tests/ansible/test_molecule_site.py",
    "tests/ansible/test_molecule_scenarios.py",
    "tests/test_rollout_timeouts.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def place(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return FIRST_FILES.index(path) if path in FIRST_FILES else len(FIRST_FILES)

    items.sort(key=place)  # stable: every other test keeps its place


def pytest_terminal_summary(terminalreporter) -> None:
    """Figures a test records with `record_property("figures", line)` (the site scenario's drills),
    printed at the end, pass or fail: a worker's own output never reaches the terminal."""
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, ())]
    lines = [value for r in reports for name, value in getattr(r, "user_properties", ()) if name == "figures"]
    if lines:
        terminalreporter.write_sep("=", "figures")
        for line in lines:
            terminalreporter.write_line(line)
