"""The exported GraphQL contract and the documented configuration match the code."""

import re

from wallet.api.graphql.schema import schema_sdl
from wallet.config import REPO_ROOT


def test_graphql_schema_file_matches_the_code() -> None:
    exported = (REPO_ROOT / "graphql" / "schema.graphql").read_text()
    assert exported == schema_sdl(), "graphql/schema.graphql drifted: run `make schema`"


def test_graphql_folder_is_not_a_python_package() -> None:
    assert not (REPO_ROOT / "graphql" / "__init__.py").exists()
    assert not list((REPO_ROOT / "graphql").rglob("*.py"))


def test_every_environment_variable_is_documented_in_the_readme() -> None:
    source = (REPO_ROOT / "backend" / "wallet" / "config.py").read_text()
    names = set(re.findall(r'"((?:WALLET_[A-Z_]+)|DATABASE_URL|REDIS_URL)"', source))
    readme = (REPO_ROOT / "README.md").read_text()
    assert names, "no settings found"
    assert sorted(n for n in names if f"`{n}`" not in readme) == []
