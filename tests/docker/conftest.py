"""Real images and real compose stacks: fixtures shared by the container tests.

The images are built from this checkout by `docker/build --flavour cpu --standin` (layer cache makes
a rebuild of an unchanged tree take seconds; .ci/run builds them in a step of its own, timed). The
TF Serving stand-in image takes the place of tensorflow/serving, which cannot be pulled here;
everything else in the stacks is the real thing.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from ocrstack_testing.stack import REPO, STANDIN_IMAGE, WEB_IMAGE, Stack, require_docker


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    require_docker()
    build = subprocess.run(
        [str(REPO / "docker" / "build"), "--flavour", "cpu", "--standin"],
        capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return {"web": WEB_IMAGE, "standin": STANDIN_IMAGE}


@pytest.fixture
def stack_factory(images) -> Iterator:
    stacks: list[Stack] = []

    def make(mode: str, **env: str) -> Stack:
        stack = Stack(mode, {"OCR_WEB_IMAGE": images["web"], "OCR_WORKERS": "1", **env})
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:  # a failed test must not leave containers behind either
        stack.down()
