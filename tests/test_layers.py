"""The layers of docs/architecture.md, read from the import statements of every module.

The runtime package `ocr_service` (what the web image runs) imports neither the offline tooling
(`ocr_tools`: evaluation, warmup records) nor the training data generator (`ocr_synth`); no
library imports the tests' helpers (`ocrstack_testing`, the test doubles); the models never import
the service.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {
    "ocr_service": REPO / "service" / "ocr_service",
    "ocr_tools": REPO / "service" / "ocr_tools",
    "ctpn": REPO / "ctpn" / "ctpn",
    "dbnet": REPO / "dbnet" / "dbnet",
    "crnn": REPO / "crnn" / "crnn",
    "ocr_synth": REPO / "synth" / "ocr_synth",
}
FORBIDDEN = {
    "ocr_service": {"ocr_tools", "ocr_synth", "ocrstack_testing"},
    "ocr_tools": {"ocrstack_testing"},
    "ctpn": {"ocr_service", "ocr_tools", "ocrstack_testing", "flask", "dbnet"},
    "dbnet": {"ocr_service", "ocr_tools", "ocrstack_testing", "flask", "crnn"},
    "crnn": {"ocr_service", "ocr_tools", "ocrstack_testing", "flask"},
    "ocr_synth": {"ocr_service", "ocr_tools", "ctpn", "dbnet", "crnn", "ocrstack_testing"},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every import in the file, function-level (lazy) imports included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_above_its_layer(package):
    bad = {
        str(path.relative_to(REPO)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in sorted(PACKAGES[package].rglob("*.py"))
    }
    assert {name: pkgs for name, pkgs in bad.items() if pkgs} == {}


def test_the_check_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from ocr_synth import documents\n    import ocr_tools.warmup\n")
    assert imported_packages(module) == {"ocr_synth", "ocr_tools"}
