#!/bin/sh
# The streaming replica: on an empty data directory, clone the primary with
# `pg_basebackup -R` (it writes standby.signal and primary_conninfo), then run PostgreSQL
# as a hot standby. The API reads from it (DATABASE_REPLICA_URLS, docs/operations.md,
# "Read replicas").
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h postgres -U replicator -d postgres; do sleep 1; done
  PGPASSWORD="$WALLET_DB_REPLICATION_PASSWORD" pg_basebackup -h postgres -U replicator \
    -D "$PGDATA" -R -X stream -c fast
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on -c hot_standby_feedback=on
