"""Piccolo configuration: the engine and the app registry (used by migrations)."""

from piccolo.conf.apps import AppRegistry

from wallet.db.engine import DB

APP_REGISTRY = AppRegistry(apps=["wallet.piccolo_app"])

__all__ = ["APP_REGISTRY", "DB"]
