"""The one compiled part of ecssim: a few hot lifecycle steps in C (docs/design.md).

Everything else about the package is in pyproject.toml. The extension is optional: without a
C compiler the install goes on, and ecssim does the same work in Python and numpy, more slowly.
"""

import numpy
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ecssim._native",
            sources=["ecssim/_native.c"],
            include_dirs=[numpy.get_include()],
            optional=True,
        )
    ]
)
