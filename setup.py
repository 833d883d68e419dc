"""Install the top-level folders under one import name.

The repository keeps ``syncd/`` (the core), ``connectors/``, ``mappings/`` and ``examples/`` side by
side; the distribution claims only ``syncd``, with the others installed as ``syncd.connectors``,
``syncd.mappings`` and ``syncd.examples`` (the demo's data, for ``syncd demo`` and ``syncd init``).
Everything else is in ``pyproject.toml``.
"""

from setuptools import find_packages, setup

_NESTED = ["connectors", "mappings"]

setup(
    package_dir={"syncd": "syncd", "syncd.examples": "examples", **{f"syncd.{name}": name for name in _NESTED}},
    packages=[
        *find_packages(include=["syncd", "syncd.*"]),
        *(f"syncd.{pkg}" for pkg in find_packages(include=[p for n in _NESTED for p in (n, f"{n}.*")])),
        "syncd.examples",
    ],
)
