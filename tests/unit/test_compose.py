"""docker-compose.yml holds together (issue 17): `docker compose config` where Docker's
compose plugin exists, and everywhere a parse of the file that checks each service's
image, ports, dependencies and volumes against the rest, and the database topology:
the app through PgBouncer, migrations and backups direct, queries from the replica."""

from __future__ import annotations

import re
import shutil
import subprocess
from urllib.parse import SplitResult, urlsplit

import pytest
import yaml

from wallet.config import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"


def services() -> dict[str, dict]:  # type: ignore[type-arg]
    return yaml.safe_load(COMPOSE.read_text())["services"]


def url(value: str) -> SplitResult:
    """A compose URL with its `${SECRET:?...}` interpolations filled in, parsed."""
    return urlsplit(re.sub(r"\$\{[^}]*\}", "secret", value))


def required_variables() -> list[str]:
    """What the file requires from .env (`${NAME:?...}`)."""
    return sorted(set(re.findall(r"\$\{([A-Z0-9_]+):\?", COMPOSE.read_text())))


def test_every_service_is_built_or_pulled_and_depends_on_services_that_exist() -> None:
    document = yaml.safe_load(COMPOSE.read_text())
    found = document["services"]
    volumes = set(document.get("volumes") or {})
    published = []
    for name, service in found.items():
        assert "image" in service or "build" in service, name
        for needed, condition in (service.get("depends_on") or {}).items():
            assert needed in found, (name, needed)
            assert condition["condition"] in (
                "service_started",
                "service_healthy",
                "service_completed_successfully",
            )
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in found[needed], (name, needed)
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in volumes, (name, source)
            else:
                assert (REPO_ROOT / source).exists(), (name, source)
        published += [str(p).rsplit(":", 1)[0] for p in service.get("ports") or []]
    assert len(published) == len(set(published)), "two services publish one host port"


def test_the_app_goes_through_pgbouncer_and_reads_from_the_replica() -> None:
    found = services()
    env = found["api"]["environment"]
    app = url(env["DATABASE_URL"])
    assert (app.hostname, app.port) == ("pgbouncer", 6432)
    assert env["WALLET_DB_PGBOUNCER"] == "true"
    assert found["worker"]["environment"]["DATABASE_URL"] == env["DATABASE_URL"]
    replica = url(env["DATABASE_REPLICA_URLS"])
    assert (replica.hostname, replica.port, replica.path) == ("postgres-replica", 5432, "/wallet")
    migration = url(found["migrate"]["environment"]["WALLET_MIGRATION_DATABASE_URL"])
    assert (migration.hostname, migration.port) == ("postgres", 5432)  # DDL goes direct
    for name in ("api", "worker"):
        assert "pgbouncer" in found[name]["depends_on"]
    assert "postgres-replica" in found["api"]["depends_on"]
    bouncer = found["pgbouncer"]
    assert "./deploy/pgbouncer/pgbouncer.ini:/etc/pgbouncer/wallet.ini:ro" in bouncer["volumes"]
    assert "pool_mode = transaction" in (REPO_ROOT / "deploy/pgbouncer/pgbouncer.ini").read_text()
    init = (REPO_ROOT / "deploy/postgres-init.sh").read_text()
    assert "CREATE ROLE replicator LOGIN REPLICATION" in init
    assert "host replication replicator" in init
    entry = (REPO_ROOT / "deploy/replica/replica-entrypoint.sh").read_text()
    assert "pg_basebackup -h postgres -U replicator" in entry and " -R " in entry


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="Docker's compose plugin is not installed here; the parse above stands in",
)
def test_docker_compose_config_validates(tmp_path: object) -> None:
    env = {name: "x" for name in required_variables()}
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={**env, "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    assert result.returncode == 0, result.stderr
