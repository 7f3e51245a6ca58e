"""The backup configuration (issue 17) agrees with itself: deploy/pgbackrest/pgbackrest.conf,
the postgresql.conf settings beside it (archiving.conf), the compose services that run
them, and the restore drill (bench/restore_drill.py), which must test the same choices.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import yaml

from wallet.config import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy" / "pgbackrest"
COMPOSE = REPO_ROOT / "docker-compose.yml"
# What a restore depends on: the drill uses the same values as production.
CHOICES = ("repo1-retention-full", "compress-type", "start-fast", "archive-async")


def ini(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, comment_prefixes=("#",))
    parser.read_string(text)
    return parser


def postgresql_settings(text: str) -> dict[str, str]:
    settings = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()  # no value here holds a '#'
        if line:
            name, _, value = line.partition("=")
            settings[name.strip()] = value.strip().strip("'")
    return settings


def drill() -> ModuleType:
    name = "restore_drill"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "bench" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_pgbackrest_conf_archives_and_backs_up_the_wallet_stanza() -> None:
    conf = ini((DEPLOY / "pgbackrest.conf").read_text())
    assert conf.sections() == ["global", "global:archive-push", "wallet"]
    g = conf["global"]
    assert g["repo1-path"] == "/var/lib/pgbackrest"
    assert int(g["repo1-retention-full"]) >= 2
    assert g["archive-async"] == "y" and g["spool-path"]
    assert g["compress-type"] == "zst"
    assert conf["wallet"]["pg1-path"] == "/var/lib/postgresql/data"
    # The cloud repository is there, commented out, with its secrets from the environment.
    text = (DEPLOY / "pgbackrest.conf").read_text()
    assert "# repo2-type=s3" in text and "PGBACKREST_REPO2_S3_KEY_SECRET" in text
    assert "repo2-s3-key-secret=" not in text


def test_compose_runs_postgres_with_the_archiving_settings() -> None:
    archiving = postgresql_settings((DEPLOY / "archiving.conf").read_text())
    assert archiving["wal_level"] == "replica" and archiving["archive_mode"] == "on"
    assert archiving["archive_command"] == "pgbackrest --stanza=wallet archive-push %p"
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    command = services["postgres"]["command"]
    options = dict(command[i + 1].split("=", 1) for i, word in enumerate(command) if word == "-c")
    assert options == archiving
    conf_mount = "./deploy/pgbackrest/pgbackrest.conf:/etc/pgbackrest/pgbackrest.conf:ro"
    for name in ("postgres", "pgbackrest"):
        service = services[name]
        assert service["build"]["context"] == "./deploy/pgbackrest"
        assert conf_mount in service["volumes"]
        assert "pgbackrest-repo:/var/lib/pgbackrest" in service["volumes"]
        assert "postgres-data:/var/lib/postgresql/data" in service["volumes"]
    assert services["pgbackrest"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert os.access(DEPLOY / "backup-schedule.sh", os.X_OK)
    assert "backup-schedule.sh" in (DEPLOY / "Dockerfile").read_text()


def test_the_drill_tests_the_production_choices() -> None:
    module = drill()
    work = module.Workdir(Path("/drill"))
    primary = module.Cluster(Path("/drill/primary"), 5999, Path("/drill/sockets"), Path("/bin"))
    drilled = ini(module.pgbackrest_conf(work, primary))
    production = ini((DEPLOY / "pgbackrest.conf").read_text())
    for option in CHOICES:
        assert drilled["global"][option] == production["global"][option], option
    assert drilled.sections() == ["global", module.STANZA]
    assert module.STANZA == "wallet"
