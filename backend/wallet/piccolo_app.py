"""Piccolo app config: every domain's tables and the repo's top-level migrations folder.

This is a composition root (like `wallet.app`): it may import every domain's `tables`
module, which `wallet.db` may not.
"""

from piccolo.conf.apps import AppConfig, table_finder

from wallet.config import REPO_ROOT

# One `tables` module per domain that owns tables.
TABLE_MODULES = [
    f"wallet.{domain}.tables"
    for domain in (
        "adjustments",
        "aml",
        "fraud",
        "fx",
        "goals",
        "idempotency",
        "identity",
        "insights",
        "kyc",
        "ledger",
        "merchants",
        "notifications",
        "outbox",
        "payments",
        "reconciliation",
        "requests",
        "rewards",
        "security",
        "splits",
        "statements",
        "transactions",
        "wallets",
    )
]

APP_CONFIG = AppConfig(
    app_name="wallet",
    migrations_folder_path=str(REPO_ROOT / "migrations"),
    table_classes=table_finder(modules=TABLE_MODULES, exclude_imported=True),
)
