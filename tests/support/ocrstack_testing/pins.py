"""The exact pins (`name==version`) of a pip requirements file, by PEP 503 normalised name."""

from __future__ import annotations

import re


def canonical(name: str) -> str:
    """PEP 503's normalised form of a distribution name (`Flask`, `typing_extensions` ...)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def exact_pins(text: str) -> dict[str, str]:
    """{normalised name: version} of every `name==version` line of a requirements file's text."""
    return {canonical(name): version for name, version in re.findall(r"^([\w.-]+)==(\S+)", text, re.M)}
