"""Install the three top-level folders under one import name.

The repository keeps ``syncd/`` (the core), ``connectors/`` and ``mappings/``
side by side; the distribution claims only ``syncd``, with the other two
installed as ``syncd.connectors`` and ``syncd.mappings``. Everything else is
in ``pyproject.toml``.
"""

from setuptools import find_packages, setup

_NESTED = ["connectors", "mappings"]

setup(
    package_dir={"syncd": "syncd", **{f"syncd.{name}": name for name in _NESTED}},
    packages=[
        *find_packages(include=["syncd", "syncd.*"]),
        *(f"syncd.{pkg}" for pkg in find_packages(include=[p for n in _NESTED for p in (n, f"{n}.*")])),
    ],
)
