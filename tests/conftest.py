"""Hooks of the whole suite.

`make test` (and so CI) runs it on two pytest-xdist workers, `-n 2 --dist loadgroup`: CI's machine
has two cores, and the Molecule scenarios, three quarters of the suite's time, mostly wait on
containers, image tarballs and health checks. The scenarios run in two lanes
(tests/ansible/test_molecule_scenarios.py), each an xdist group that one worker runs from start to
end; every other test is a unit of its own, taken by whichever worker is free.
"""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The lanes first: xdist hands each worker its first units in this order, so the longest work
    # starts at once, one lane per worker (sort is stable: the rest keep their order).
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)


def pytest_terminal_summary(terminalreporter) -> None:
    """Figures a test records with `record_property("figures", line)` (the site scenario's drills),
    printed at the end, pass or fail: a worker's own output never reaches the terminal."""
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, ())]
    lines = [value for r in reports for name, value in getattr(r, "user_properties", ()) if name == "figures"]
    if lines:
        terminalreporter.write_sep("=", "figures")
        for line in lines:
            terminalreporter.write_line(line)
