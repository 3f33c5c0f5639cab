"""The one compiled part of ecssim: the keyed placement decision's scan (docs/design.md).

Everything else about the package is in pyproject.toml. The extension is optional: without a
C compiler the install goes on, and ecssim makes the same decisions with numpy, more slowly.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("ecssim.placement._keyed", sources=["ecssim/placement/_keyed.c"], optional=True)
    ]
)
