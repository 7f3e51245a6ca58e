"""Piccolo app config: the wallet's tables and the repo's top-level migrations folder."""

from piccolo.conf.apps import AppConfig

from wallet.config import REPO_ROOT
from wallet.db.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="wallet",
    migrations_folder_path=str(REPO_ROOT / "migrations"),
    table_classes=list(ALL_TABLES),
)
