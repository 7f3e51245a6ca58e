#!/bin/sh
# Runs once, when the postgres container initialises an empty data directory: the
# schema's owner (migrations) and the app's login role (API and worker), which owns
# nothing (docs/security.md, "Database roles"). Migration 0026b grants it what it needs.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$WALLET_DB_OWNER_PASSWORD" -v app_password="$WALLET_DB_APP_PASSWORD" <<'SQL'
CREATE ROLE wallet_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE wallet_app LOGIN PASSWORD :'app_password';
CREATE DATABASE wallet OWNER wallet_owner;
SQL
