"""Database roles: the schema owner runs migrations; the API and the worker log in as
`wallet_app`, which owns nothing and is not a superuser (issue 14, finding 5).

Here: the start-up check that refuses a privileged role, and, for development and tests,
the app's login on a server that trusts local connections and its URL.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from wallet.db.engine import Connection, connection

APP_ROLE = "wallet_app"  # migrations/sql/0026b_app_role.sql grants to it


class PrivilegedDatabaseRole(RuntimeError):
    pass


def url_as(url: str, user: str) -> str:
    """`url` with `user` and no password (for servers that trust local connections, as the
    embedded one and CI's do; elsewhere set the app's own DATABASE_URL)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


async def ensure_app_login(conn: Connection, role: str = APP_ROLE) -> None:
    """Make `role` a login role, without a password (development and tests only).

    Roles are cluster-wide and test runs share one server: this is idempotent, and a run
    that loses a race with another (which then made the same role) carries on."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", role):
        raise ValueError(f"not a plain role name: {role!r}")
    failure: asyncpg.PostgresError | None = None
    for attempt in range(4):
        login = await conn.fetchval("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", role)
        if login:
            return
        if attempt == 3:
            break
        statement = "ALTER ROLE" if login is False else "CREATE ROLE"
        try:
            await conn.execute(f"{statement} {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        except asyncpg.PostgresError as exc:
            # Another session created or changed it at the same moment ("already exists",
            # "tuple concurrently updated"): look again.
            failure = exc
    raise RuntimeError(
        f"could not make {role} a login role ({failure}); create it, or set "
        "WALLET_MIGRATION_DATABASE_URL to the owner's URL and DATABASE_URL to the app's"
    )


_PRIVILEGES = """
SELECT r.rolname, r.rolsuper, r.rolcreaterole,
       pg_has_role(current_user, d.datdba, 'MEMBER') AS owns_database,
       ARRAY(SELECT n.nspname || '.' || c.relname FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_%'
               AND pg_has_role(current_user, c.relowner, 'MEMBER')
             ORDER BY 1 LIMIT 5) AS owned_relations,
       ARRAY(SELECT n.nspname FROM pg_namespace n
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_%'
               AND pg_has_role(current_user, n.nspowner, 'MEMBER')
             ORDER BY 1) AS owned_schemas,
       ARRAY(SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_%'
               AND pg_has_role(current_user, p.proowner, 'MEMBER')
             ORDER BY 1 LIMIT 5) AS owned_functions
FROM pg_roles r, pg_database d
WHERE r.rolname = current_user AND d.datname = current_database()
"""


async def privilege_problems(conn: Connection) -> list[str]:
    """Why the connected role is too powerful for the app (empty: it is fine).

    Owning (or being a member of the owner of) a table, function, schema or the database
    lets a role switch off triggers, replace trigger functions or drop tables; a superuser
    can also set session_replication_role, which skips every trigger."""
    row = await conn.fetchrow(_PRIVILEGES)
    name, problems = row["rolname"], []
    if row["rolsuper"]:
        problems.append(f"{name} is a superuser")
    if row["rolcreaterole"]:
        problems.append(f"{name} can create roles (and grant itself the owner's)")
    if row["owns_database"]:
        problems.append(f"{name} owns the database")
    for kind, owned in (
        ("tables", row["owned_relations"]),
        ("schemas", row["owned_schemas"]),
        ("functions", row["owned_functions"]),
    ):
        if owned:
            problems.append(f"{name} owns {kind}: {', '.join(owned)}")
    return problems


async def refuse_privileged_role() -> None:
    """Start-up check for production (API and worker): raise unless the engine's role
    owns nothing and is not a superuser."""
    async with connection() as conn:
        problems = await privilege_problems(conn)
    if problems:
        raise PrivilegedDatabaseRole(
            "the app must connect as a role that owns nothing (migrations run as the "
            "owner, with WALLET_MIGRATION_DATABASE_URL): " + "; ".join(problems)
        )
