"""The container recipe and the packaging, read as a reviewer would (there is no container engine in
CI: `syncd health`, which the image's health check runs, is tested in test_first_contact)."""

from __future__ import annotations

import re
import tomllib

from syncd import __version__
from tests.conftest import ROOT

CONTAINERFILE = (ROOT / "deploy" / "Containerfile").read_text()
INSTRUCTIONS = [line for line in CONTAINERFILE.splitlines() if line and not line.startswith((" ", "#"))]


def _index(prefix: str) -> int:
    return next(i for i, line in enumerate(INSTRUCTIONS) if line.startswith(prefix))


def test_the_base_image_is_pinned_by_digest():
    assert re.search(r"^ARG BASE=\S+:[\w.-]+@sha256:[0-9a-f]{64}$", CONTAINERFILE, re.M)
    assert "FROM ${BASE}" in INSTRUCTIONS


def test_dependencies_are_installed_before_the_source_is_copied():
    deps = _index('RUN python -c "import tomllib')
    assert _index("COPY pyproject.toml") < deps < _index("COPY syncd")
    assert "--no-deps ." in INSTRUCTIONS[_index("RUN pip install --no-deps")]


def test_the_image_has_tzdata_labels_a_health_check_and_a_state_volume():
    assert "tzdata" in CONTAINERFILE
    for label in ("title", "version", "licenses", "source", "description"):
        assert f"org.opencontainers.image.{label}=" in CONTAINERFILE
    assert re.search(r'CMD \["syncd", "health"', CONTAINERFILE)  # the port comes from [syncd].listen
    assert 'VOLUME ["/var/lib/syncd"]' in CONTAINERFILE and "USER syncd" in CONTAINERFILE


def test_the_build_context_leaves_out_what_the_image_does_not_need():
    ignored = (ROOT / ".containerignore").read_text().split()
    assert {".git", "tests", "*.db"} <= set(ignored)


def test_the_package_metadata_has_one_version_an_spdx_licence_and_urls():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "version" in project["dynamic"] and "version" not in project
    assert __version__ in CONTAINERFILE  # the image's default VERSION label
    assert {"Homepage", "Source", "Issues"} <= set(project["urls"])
    assert any(c.startswith("Programming Language :: Python :: 3.11") for c in project["classifiers"])
