"""Only here to build the Cython extension; metadata lives in pyproject.toml."""

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(f"ctpn_bbox.{name}", [f"ctpn_bbox/{name}.pyx"], include_dirs=[numpy.get_include()])
    for name in ("bbox", "nms")
]

setup(ext_modules=cythonize(extensions, language_level=3))
