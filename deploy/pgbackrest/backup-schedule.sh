#!/bin/sh
# The backup schedule of the compose stack's `pgbackrest` service (docs/operations.md,
# "Backups and point-in-time recovery"): WAL is archived continuously by the primary
# itself (archive_command); here, a full backup on Sundays and an incremental one on the
# other days, at BACKUP_HOUR (UTC, default 02). On a host, cron does the same:
#   0 2 * * 0   postgres  pgbackrest --stanza=wallet --type=full backup
#   0 2 * * 1-6 postgres  pgbackrest --stanza=wallet --type=incr backup
set -eu
STANZA=wallet
HOUR="${BACKUP_HOUR:-02}"

# Idempotent: creates the stanza on first start, checks it afterwards. Then `check`
# proves that archive_command reaches the repository (it switches one WAL segment).
until pgbackrest --stanza="$STANZA" stanza-create; do sleep 5; done
pgbackrest --stanza="$STANZA" check

# Point-in-time recovery needs a full backup to start from: take one now if there is none.
if ! pgbackrest --stanza="$STANZA" --output=json info | grep -q '"type":"full"'; then
  pgbackrest --stanza="$STANZA" --type=full backup
fi

while :; do
  now=$(date -u +%s)
  next=$(date -u -d "$(date -u +%F) $HOUR:00" +%s)
  [ "$next" -gt "$now" ] || next=$((next + 86400))
  sleep $((next - now))
  if [ "$(date -u +%u)" = 7 ]; then type=full; else type=incr; fi
  # A failed backup is logged and retried the next day; the alert is the age of the
  # newest backup (docs/operations.md).
  pgbackrest --stanza="$STANZA" --type="$type" backup || echo "pgbackrest $type backup failed" >&2
done
