"""Slow: `pip install ./ctpn` into a fresh virtual environment compiles the Cython extension."""

import subprocess
import sys
import venv
from pathlib import Path

import numpy
import pytest

pytestmark = pytest.mark.slow

CTPN = Path(__file__).resolve().parents[2] / "ctpn"


def test_pip_install_builds_ctpn_bbox(tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    py = env_dir / "bin" / "python"
    # see this environment's packages (numpy, Cython, setuptools) so the build works offline
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "parent_env.pth").write_text(str(Path(numpy.__file__).parents[1]) + "\n")
    # a copy, so the editable checkout's in-place .so cannot be what gets imported
    src = tmp_path / "ctpn"
    subprocess.run(["cp", "-r", str(CTPN), str(src)], check=True)
    for so in src.rglob("*.so"):
        so.unlink()
    pip = [str(py), "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--force-reinstall"]
    pip.append(str(src))
    subprocess.run(pip, check=True, capture_output=True, timeout=600)
    code = (
        "import numpy as np, ctpn_bbox, ctpn_bbox.bbox as b; "
        f"assert b.__file__.endswith('.so') and b.__file__.startswith({str(env_dir)!r}), b.__file__; "
        "print(ctpn_bbox.bbox_overlaps(np.array([[0, 0, 9, 9.]]), np.array([[5, 0, 14, 9.]]))[0, 0])"
    )
    out = subprocess.run([str(py), "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.strip() == str(50 / 150)
    assert sys.executable != str(py)
