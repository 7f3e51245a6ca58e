"""The package metadata uses today's forms, so installing it prints no deprecation
warning (issue 18, item 12: setuptools deprecated the `project.license` table)."""

import re
import tomllib

from wallet.config import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def test_the_license_is_an_spdx_expression_with_its_file() -> None:
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0"
    assert "License" not in " ".join(project.get("classifiers", []))  # PEP 639 forbids both
    for name in project["license-files"]:
        assert "Apache License" in (REPO_ROOT / name).read_text()


def test_the_build_backend_understands_spdx_licenses() -> None:
    (requirement,) = PYPROJECT["build-system"]["requires"]
    match = re.fullmatch(r"setuptools>=(\d+)", requirement)
    assert match is not None and int(match.group(1)) >= 77
