#!/bin/sh
# Runs once, when the postgres container initialises an empty data directory: the
# schema's owner (migrations), the app's login role (API and worker), which owns
# nothing, and the replica's replication login (docs/security.md, "Database roles"). Migration 0026b grants it what it needs.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$WALLET_DB_OWNER_PASSWORD" -v app_password="$WALLET_DB_APP_PASSWORD" \
    -v replication_password="$WALLET_DB_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE wallet_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE wallet_app LOGIN PASSWORD :'app_password';
-- The streaming replica's login (deploy/replica/replica-entrypoint.sh).
CREATE ROLE replicator LOGIN REPLICATION PASSWORD :'replication_password';
CREATE DATABASE wallet OWNER wallet_owner;
SQL
# The replica streams from this server over the compose network.
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
