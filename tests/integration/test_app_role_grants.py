"""The app's database role may do what the code does: every table the code deletes
from grants it DELETE (migration 0026b granted DELETE table by table, and a feature
merged after it, removing merchant staff, failed with "permission denied")."""

import re

import pytest

from wallet.config import REPO_ROOT
from wallet.db.engine import connection

pytestmark = pytest.mark.usefixtures("database_url")

DELETES = re.compile(r"DELETE FROM ([a-z_]+)")


def tables_the_code_deletes_from() -> set[str]:
    sources = [
        *(REPO_ROOT / "backend" / "wallet").rglob("*.py"),
        *(REPO_ROOT / "workers").rglob("*.py"),
    ]
    return {table for path in sources for table in DELETES.findall(path.read_text())}


async def test_every_table_the_code_deletes_from_lets_the_app_delete() -> None:
    tables = tables_the_code_deletes_from()
    assert "merchant_staff" in tables  # the scan finds what it is for
    async with connection() as conn:
        refused = [
            table
            for table in sorted(tables)
            if not await conn.fetchval("SELECT has_table_privilege($1, 'DELETE')", table)
        ]
    assert refused == [], f"the app's role cannot DELETE from {refused}: grant it in a migration"
