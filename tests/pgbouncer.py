"""A real PgBouncer (Debian's, 1.18) in transaction mode in front of the test server.

`TEST_VIA_PGBOUNCER=1` runs the suite (or the subset `make test` picks) with every
app connection going through it: the per-test database URL names PgBouncer's port, and
the engine runs with `pgbouncer=True` as production does (docs/operations.md,
"Connection pooling"). Migrations and the tests' own admin connections go direct, as a
DBA's would.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from wallet.config import REPO_ROOT

CONFIG = REPO_ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini"


def wanted() -> bool:
    return os.environ.get("TEST_VIA_PGBOUNCER", "") not in ("", "0", "false")


def installed() -> bool:
    """Whether this machine has PgBouncer; under CI it must (a missing one is a failure)."""
    found = shutil.which("pgbouncer") or Path("/usr/sbin/pgbouncer").exists()
    if not found and os.environ.get("CI"):
        raise RuntimeError(
            "pgbouncer is not installed, and CI needs it (apt-get install pgbouncer)"
        )
    return bool(found)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def through(url: str, port: int) -> str:
    """`url` (any database, any user) by way of the PgBouncer on `port`."""
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0]
    return urlunsplit(
        parts._replace(netloc=f"{user}@127.0.0.1:{port}" if user else f"127.0.0.1:{port}")
    )


@contextlib.contextmanager
def running(
    upstream_url: str, users: tuple[str, ...], *, pool_size: int | None = None
) -> Iterator[int]:
    """PgBouncer on a free loopback port, forwarding every database to the server of
    `upstream_url` with the committed production settings (deploy/pgbouncer/pgbouncer.ini),
    except what a loopback test needs: trust authentication and its own paths."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        raise RuntimeError("pgbouncer is not installed (apt-get install pgbouncer)")
    upstream = urlsplit(upstream_url)
    port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="wallet-pgbouncer-"))
    (folder / "users.txt").write_text("".join(f'"{u}" ""\n' for u in users))
    settings = CONFIG.read_text()
    host = upstream.hostname or "127.0.0.1"
    settings = settings.replace("@UPSTREAM@", f"host={host} port={upstream.port or 5432}")
    overrides = {
        "listen_addr": "127.0.0.1",
        "listen_port": str(port),
        "auth_type": "trust",
        "auth_file": str(folder / "users.txt"),
        "logfile": str(folder / "pgbouncer.log"),
        "pidfile": str(folder / "pgbouncer.pid"),
        "unix_socket_dir": "",
        "admin_users": "postgres",
        "stats_users": "postgres",
        **({"default_pool_size": str(pool_size), "min_pool_size": "0"} if pool_size else {}),
    }
    lines = []
    for line in settings.splitlines():
        key = line.split("=", 1)[0].strip()
        if key in overrides:
            line = f"{key} = {overrides.pop(key)}"
        lines.append(line)
    ini = folder / "pgbouncer.ini"
    ini.write_text("\n".join(lines) + "\n")
    # PgBouncer will not run as root; it drops to an unprivileged user when asked.
    command = [binary, str(ini)]
    if os.geteuid() == 0:
        shutil.chown(folder, "nobody")
        for child in folder.iterdir():
            shutil.chown(child, "nobody")
        command = [binary, "-u", "nobody", str(ini)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                log = (
                    (folder / "pgbouncer.log").read_text()
                    if (folder / "pgbouncer.log").exists()
                    else ""
                )
                raise RuntimeError(
                    f"pgbouncer did not start: {process.stderr and process.stderr.read()!r} {log}"
                )
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)
