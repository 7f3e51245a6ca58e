"""The app's database role may do what the code does: every table the code deletes
from grants it DELETE (migration 0026b granted DELETE table by table, and a feature
merged after it, removing merchant staff, failed with "permission denied")."""

import re

import pytest

from wallet.config import REPO_ROOT
from wallet.db.engine import connection
from wallet.piccolo_app import APP_CONFIG

pytestmark = pytest.mark.usefixtures("database_url")

DELETES = re.compile(r"DELETE FROM ([a-z_]+)")
# A Piccolo delete: `MerchantStaff.delete()...`, named by its Table class.
PICCOLO_DELETES = re.compile(r"\b([A-Z][A-Za-z]+)\.delete\(")


def tables_the_code_deletes_from() -> set[str]:
    sources = [
        *(REPO_ROOT / "backend" / "wallet").rglob("*.py"),
        *(REPO_ROOT / "workers").rglob("*.py"),
    ]
    table_of = {t.__name__: t._meta.tablename for t in APP_CONFIG.table_classes}
    found: set[str] = set()
    for path in sources:
        text = path.read_text()
        found.update(DELETES.findall(text))
        found.update(table_of[c] for c in PICCOLO_DELETES.findall(text) if c in table_of)
    return found


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
