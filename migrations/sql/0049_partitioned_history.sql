-- Partitioned history (issue 17): the tables that grow without bound are split by month,
-- with native declarative partitioning, and idempotency keys by day.
--
-- The monthly tables (posting, journal_entry, money_transaction, transaction_transition,
-- outbox_event, audit_log) are partitioned by RANGE of their id, and the id says its
-- month: the top bits are the month it was drawn in (months since January 2000, UTC),
-- the low 40 bits the table's sequence (history_next_id). So each partition holds one
-- calendar month, and the primary key stays `id` alone. That matters: PostgreSQL
-- enforces a unique key on a partitioned table only per partition, so it must contain
-- the partition key; partitioning by `created_at` would make every key (id, created_at)
-- and every one of the 33 foreign keys that point at these tables would need the
-- referenced row's time as well. With the month in the id, they all keep working
-- unchanged, ids still rise with time (orders by id keep their meaning), and a query by
-- id is pruned to one partition. Ids stay below 2^53, so JavaScript reads them exactly.
--
-- Rows written before this migration keep their small ids and stay in one `_legacy`
-- partition per table (below the first month's ids). The worker makes partitions ahead
-- (history_make_partitions, three months and a week of days); there is no default
-- partition: a row in it would block making its month's partition, and the ledger's
-- rows may not be moved out (they are immutable). The metric
-- wallet_history_partitions_ahead and its alert watch the margin instead.
--
-- Unique keys that do not contain the id cannot be enforced across partitions:
-- * money_transaction.reverses_id (a transaction is reversed at most once) moves to
--   transaction_reversal, a small table whose primary key holds it, filled by trigger;
-- * money_transaction.gateway_ref (the reference the gateway knows a movement by) moves
--   to transaction_gateway_ref, whose primary key holds it, filled by trigger (most
--   are 128 random bits, but a chargeback's is "<ref>:chargeback": not unique by chance);
-- * audit_log.seq is given by one sealer at a time (an advisory lock), and the hash
--   chain's verification refuses a repeated or missing seq.
-- Idempotency keys are partitioned by their day (created_on, UTC) with (principal, key,
-- created_on) as key: the database refuses a key used twice in a day; that it is used
-- once across days rests on `claim`, which takes an advisory lock on (principal, key)
-- and reads every partition before the command runs (wallet.idempotency).

CREATE FUNCTION history_month(at timestamptz) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (extract(year FROM at AT TIME ZONE 'UTC')::integer - 2000) * 12
           + extract(month FROM at AT TIME ZONE 'UTC')::integer - 1
$$;

CREATE FUNCTION history_month_start(month integer) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT make_timestamptz(2000 + month / 12, month % 12 + 1, 1, 0, 0, 0, 'UTC')
$$;

-- The smallest id of a month.
CREATE FUNCTION history_id_floor(month integer) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT month::bigint << 40 $$;

-- The month an id was drawn in (ids below the first month's are the legacy rows').
CREATE FUNCTION history_id_month(id bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (id >> 40)::integer $$;

-- The next id of a monthly table: its month (from the clock when drawn, so ids drawn
-- later are never smaller: the outbox relay's horizon relies on it) and the sequence.
CREATE FUNCTION history_next_id(seq regclass) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint := nextval(seq);
BEGIN
    IF n >= (1::bigint << 40) THEN
        RAISE EXCEPTION 'sequence % is past 2^40', seq;
    END IF;
    RETURN history_id_floor(history_month(clock_timestamp())) | n;
END $$;

-- The largest id drawn so far from a monthly table's sequence (or one above it).
CREATE FUNCTION history_last_id(seq regclass) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    SELECT history_id_floor(history_month(clock_timestamp()))
           | coalesce(pg_sequence_last_value(seq), 0)
$$;

-- The tables partitioned by month, and the guard that refuses a TRUNCATE of each.
CREATE FUNCTION history_tables() RETURNS TABLE (name text, truncate_guard text)
LANGUAGE sql IMMUTABLE AS $$
    VALUES ('journal_entry', 'ledger_reject_change'), ('posting', 'ledger_reject_change'),
           ('money_transaction', NULL), ('transaction_transition', 'ledger_reject_change'),
           ('outbox_event', NULL), ('audit_log', 'audit_log_guard')
$$;

-- Turn one table into a partitioned table of the same name, its rows kept in a
-- `<table>_legacy` partition; the keys, indexes, triggers, grants and the foreign keys
-- that point at it come along. Dropped at the end of this migration.
CREATE FUNCTION history_partition_table(
    t text, bound text, legacy_upper text, unique_to_plain text[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    legacy text := t || '_legacy';
    r record;
    incoming text[] := '{}';
    outgoing text[] := '{}';
    triggers text[] := '{}';
    indexes text[] := '{}';
    statement text;
BEGIN
    FOR r IN SELECT conrelid::regclass AS tbl, conname, pg_get_constraintdef(oid) AS def
               FROM pg_constraint WHERE confrelid = t::regclass AND contype = 'f' AND conparentid = 0 LOOP
        incoming := incoming || format('ALTER TABLE %s ADD CONSTRAINT %I %s',
                                       CASE WHEN r.tbl = t::regclass THEN quote_ident(t)
                                            ELSE r.tbl::text END, r.conname, r.def);
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
    END LOOP;
    FOR r IN SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
              WHERE conrelid = t::regclass AND contype = 'f' AND conparentid = 0 LOOP
        outgoing := outgoing || format('ALTER TABLE %I ADD CONSTRAINT %I %s', t, r.conname, r.def);
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', t, r.conname);
    END LOOP;
    FOR r IN SELECT tgname, pg_get_triggerdef(oid) AS def FROM pg_trigger
              WHERE tgrelid = t::regclass AND NOT tgisinternal LOOP
        triggers := triggers || r.def;
        EXECUTE format('DROP TRIGGER %I ON %I', r.tgname, t);
    END LOOP;
    FOR r IN SELECT i.indexrelid::regclass AS idx, pg_get_indexdef(i.indexrelid) AS def,
                    c.conname
               FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid
              WHERE i.indrelid = t::regclass AND NOT i.indisprimary LOOP
        statement := r.def;
        IF r.idx::text = ANY(unique_to_plain) THEN
            statement := replace(statement, 'CREATE UNIQUE INDEX', 'CREATE INDEX');
        END IF;
        indexes := indexes || statement;
        IF r.conname IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', t, r.conname);
        ELSE
            EXECUTE format('DROP INDEX %s', r.idx);
        END IF;
    END LOOP;

    EXECUTE format('ALTER TABLE %I RENAME TO %I', t, legacy);
    EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', legacy, t || '_pkey',
                   legacy || '_pkey');
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                   'INCLUDING GENERATED INCLUDING STORAGE) PARTITION BY %s', t, legacy, bound);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I PRIMARY KEY (%s)', t, t || '_pkey',
                   CASE WHEN bound LIKE '%(id)' THEN 'id'
                        ELSE 'principal, key, created_on' END);
    FOREACH statement IN ARRAY indexes LOOP
        EXECUTE statement;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_class WHERE relname = t || '_id_seq') THEN
        EXECUTE format('ALTER SEQUENCE %I OWNED BY %I.id', t || '_id_seq', t);
        EXECUTE format('ALTER TABLE %I ALTER COLUMN id SET DEFAULT history_next_id(%L)', t,
                       t || '_id_seq');
    END IF;

    -- The same grants as before, on the table and on its columns.
    EXECUTE format('REVOKE ALL ON %I FROM wallet_app', t);
    FOR r IN SELECT a.privilege_type, g.rolname
               FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
               JOIN pg_roles g ON g.oid = a.grantee
              WHERE c.oid = legacy::regclass AND g.rolname <> current_user LOOP
        EXECUTE format('GRANT %s ON %I TO %I', r.privilege_type, t, r.rolname);
    END LOOP;
    FOR r IN SELECT att.attname, a.privilege_type, g.rolname
               FROM pg_attribute att CROSS JOIN LATERAL aclexplode(att.attacl) a
               JOIN pg_roles g ON g.oid = a.grantee
              WHERE att.attrelid = legacy::regclass AND att.attacl IS NOT NULL LOOP
        EXECUTE format('GRANT %s (%I) ON %I TO %I', r.privilege_type, r.attname, t, r.rolname);
    END LOOP;

    IF bound NOT LIKE '%(id)' THEN
        -- The legacy rows get the new key (the old one lacks the partition key).
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', legacy, legacy || '_pkey');
    END IF;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%s)',
                   t, legacy, legacy_upper);
    EXECUTE format('REVOKE ALL ON %I FROM wallet_app', legacy);
    FOREACH statement IN ARRAY triggers LOOP
        EXECUTE statement;
    END LOOP;
    FOREACH statement IN ARRAY outgoing LOOP
        EXECUTE statement;
    END LOOP;
    FOREACH statement IN ARRAY incoming LOOP
        EXECUTE statement;
    END LOOP;
END $$;

-- A transaction is reversed at most once: the key that `UNIQUE (reverses_id)` held.
CREATE TABLE transaction_reversal (
    reversed_id bigint PRIMARY KEY REFERENCES money_transaction (id),
    reversal_id bigint NOT NULL UNIQUE REFERENCES money_transaction (id)
);
INSERT INTO transaction_reversal (reversed_id, reversal_id)
SELECT reverses_id, id FROM money_transaction WHERE reverses_id IS NOT NULL;
REVOKE ALL ON transaction_reversal FROM wallet_app;
GRANT SELECT ON transaction_reversal TO wallet_app;

CREATE FUNCTION money_transaction_claim_reversal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO transaction_reversal (reversed_id, reversal_id) VALUES (NEW.reverses_id, NEW.id);
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION money_transaction_claim_reversal() FROM PUBLIC;

-- The gateway's reference of a movement is unique: the key `UNIQUE (gateway_ref)` held.
CREATE TABLE transaction_gateway_ref (
    gateway_ref    text PRIMARY KEY,
    transaction_id bigint NOT NULL UNIQUE REFERENCES money_transaction (id)
);
INSERT INTO transaction_gateway_ref (gateway_ref, transaction_id)
SELECT gateway_ref, id FROM money_transaction WHERE gateway_ref IS NOT NULL;
REVOKE ALL ON transaction_gateway_ref FROM wallet_app;
GRANT SELECT ON transaction_gateway_ref TO wallet_app;

CREATE FUNCTION money_transaction_claim_gateway_ref() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO transaction_gateway_ref (gateway_ref, transaction_id)
    VALUES (NEW.gateway_ref, NEW.id);
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION money_transaction_claim_gateway_ref() FROM PUBLIC;

-- What a transaction reverses, and its gateway reference, are set once, at insert: the
-- claims above are made then.
CREATE FUNCTION money_transaction_keys_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a transaction''s reverses_id and gateway_ref are set when it is made'
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

-- The day of an idempotency key: its partition key.
ALTER TABLE idempotency_key
    ADD COLUMN created_on date NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')::date;
UPDATE idempotency_key SET created_on = (created_at AT TIME ZONE 'UTC')::date;

DO $$
DECLARE
    views text[];
    first_id text := history_id_floor(history_month(now()))::text;
    t record;
BEGIN
    -- A view that reads posting is made again over the partitioned table.
    views := ARRAY[pg_get_viewdef('ledger_chain'::regclass)];
    DROP VIEW ledger_chain;

    PERFORM history_partition_table('journal_entry', 'RANGE (id)', first_id, '{}');
    PERFORM history_partition_table('posting', 'RANGE (id)', first_id, '{}');
    PERFORM history_partition_table(
        'money_transaction', 'RANGE (id)', first_id,
        ARRAY['money_transaction_gateway_ref_key', 'money_transaction_reverses_id_key']);
    PERFORM history_partition_table('transaction_transition', 'RANGE (id)', first_id, '{}');
    PERFORM history_partition_table('outbox_event', 'RANGE (id)', first_id, '{}');
    PERFORM history_partition_table('audit_log', 'RANGE (id)', first_id, ARRAY['audit_log_seq_key']);
    PERFORM history_partition_table(
        'idempotency_key', 'RANGE (created_on)',
        -- Through today: every key made so far (the days after get partitions of their own).
        quote_literal((now() AT TIME ZONE 'UTC')::date + 1), '{}');

    EXECUTE 'CREATE VIEW ledger_chain AS ' || views[1];
    FOR t IN SELECT * FROM history_tables() WHERE truncate_guard IS NOT NULL LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                       'EXECUTE FUNCTION %I()', t.name || '_legacy_no_truncate',
                       t.name || '_legacy', t.truncate_guard);
    END LOOP;
END $$;
DROP FUNCTION history_partition_table(text, text, text, text[]);

ALTER INDEX money_transaction_gateway_ref_key RENAME TO money_transaction_gateway_ref_idx;
DROP INDEX idempotency_key_created_idx;  -- the partitions are the days
ALTER INDEX money_transaction_reverses_id_key RENAME TO money_transaction_reverses_id_idx;
ALTER INDEX audit_log_seq_key RENAME TO audit_log_seq_idx;

CREATE TRIGGER money_transaction_reversal_claimed AFTER INSERT ON money_transaction
    FOR EACH ROW WHEN (NEW.reverses_id IS NOT NULL)
    EXECUTE FUNCTION money_transaction_claim_reversal();
CREATE TRIGGER money_transaction_gateway_ref_claimed AFTER INSERT ON money_transaction
    FOR EACH ROW WHEN (NEW.gateway_ref IS NOT NULL)
    EXECUTE FUNCTION money_transaction_claim_gateway_ref();
CREATE TRIGGER money_transaction_keys_fixed BEFORE UPDATE OF reverses_id, gateway_ref
    ON money_transaction FOR EACH ROW
    WHEN (NEW.reverses_id IS DISTINCT FROM OLD.reverses_id
          OR NEW.gateway_ref IS DISTINCT FROM OLD.gateway_ref)
    EXECUTE FUNCTION money_transaction_keys_fixed();

-- The batched send path draws its entries' ids itself: from the same function.
DO $$
DECLARE
    def text := pg_get_functiondef(
        'ledger_post_transfers(text, text[], bigint[], bigint[], bigint[], char(3)[])'::regprocedure);
BEGIN
    IF position('nextval(''journal_entry_id_seq'')' IN def) = 0 THEN
        RAISE EXCEPTION 'ledger_post_transfers no longer draws ids with nextval';
    END IF;
    EXECUTE replace(def, 'nextval(''journal_entry_id_seq'')',
                    'history_next_id(''journal_entry_id_seq'')');
END $$;

-- Partitions ahead of time: months for the monthly tables, days for idempotency keys.
-- Run by the worker every day and by the migrations; the app's role may call it (it
-- owns nothing), so it runs as the owner, within bounds. Each new partition is reached
-- only through its table (no grants of its own), and a ledger partition refuses
-- TRUNCATE as the table does. CREATE TABLE ... PARTITION OF locks the parent: each
-- waits at most 2 s for it (a long reader must not queue every write behind the job)
-- and one that times out, or that another worker made first, is left for the next run.
CREATE FUNCTION history_make_partitions(months_ahead integer DEFAULT 3,
                                        days_ahead integer DEFAULT 7)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t record;
    m integer;
    d date;
    part text;
    made integer := 0;
    today date := (now() AT TIME ZONE 'UTC')::date;
    first_day date;
BEGIN
    months_ahead := least(greatest(months_ahead, 1), 24);
    days_ahead := least(greatest(days_ahead, 1), 60);
    SET LOCAL lock_timeout = '2s';
    FOR t IN SELECT * FROM history_tables() LOOP
        FOR m IN history_month(now()) .. history_month(now()) + months_ahead LOOP
            part := t.name || '_p' || to_char(history_month_start(m) AT TIME ZONE 'UTC', 'YYYY_MM');
            CONTINUE WHEN to_regclass(part) IS NOT NULL;
            BEGIN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                               part, t.name, history_id_floor(m), history_id_floor(m + 1));
                EXECUTE format('REVOKE ALL ON %I FROM wallet_app', part);
                IF t.truncate_guard IS NOT NULL THEN
                    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                                   'EXECUTE FUNCTION %I()', part || '_no_truncate', part,
                                   t.truncate_guard);
                END IF;
                made := made + 1;
            EXCEPTION WHEN lock_not_available OR duplicate_table THEN
                RAISE WARNING 'partition % not made now: %', part, SQLERRM;
            END;
        END LOOP;
    END LOOP;
    -- From the first day no partition covers yet (the legacy one runs through the day of
    -- the migration).
    first_day := greatest(today, coalesce(
        (SELECT max(upper_bound::date) FROM history_partitions('idempotency_key')), today));
    FOR d IN SELECT generate_series(first_day, today + days_ahead, interval '1 day')::date LOOP
        part := 'idempotency_key_p' || to_char(d, 'YYYY_MM_DD');
        CONTINUE WHEN to_regclass(part) IS NOT NULL;
        BEGIN
            EXECUTE format('CREATE TABLE %I PARTITION OF idempotency_key '
                           'FOR VALUES FROM (%L) TO (%L)', part, d, d + 1);
            EXECUTE format('REVOKE ALL ON %I FROM wallet_app', part);
            made := made + 1;
        EXCEPTION WHEN lock_not_available OR duplicate_table THEN
            RAISE WARNING 'partition % not made now: %', part, SQLERRM;
        END;
    END LOOP;
    RETURN made;
END $$;
REVOKE ALL ON FUNCTION history_make_partitions(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION history_make_partitions(integer, integer) TO wallet_app;

-- The partitions of a table with their bounds (upper: the first key past the partition;
-- NULL for MAXVALUE).
CREATE FUNCTION history_partitions(parent regclass)
RETURNS TABLE (name text, lower_bound text, upper_bound text)
LANGUAGE sql STABLE AS $$
    SELECT c.relname::text,
           btrim(substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \((.*)\) TO'), ''''),
           nullif(btrim(substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \((.*)\)$'), ''''),
                  'MAXVALUE')
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = parent
     ORDER BY 1
$$;

-- How far ahead the partitions reach: the first month (or day, for idempotency keys)
-- from now that has no partition yet, in days from now; the metric's source.
CREATE FUNCTION history_partitions_ahead_days() RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
    t record;
    m integer;
    d date := (now() AT TIME ZONE 'UTC')::date;
    least_days integer := NULL;
    days integer;
BEGIN
    FOR t IN SELECT * FROM history_tables() LOOP
        m := history_month(now());
        WHILE to_regclass(t.name || '_p' || to_char(history_month_start(m) AT TIME ZONE 'UTC', 'YYYY_MM')) IS NOT NULL LOOP
            m := m + 1;
        END LOOP;
        days := greatest(0, extract(day FROM history_month_start(m) - now())::integer);
        least_days := least(coalesce(least_days, days), days);
    END LOOP;
    d := greatest(d, coalesce((SELECT max(upper_bound::date)
                                 FROM history_partitions('idempotency_key')
                                WHERE name = 'idempotency_key_legacy'), d));
    WHILE to_regclass('idempotency_key_p' || to_char(d, 'YYYY_MM_DD')) IS NOT NULL LOOP
        d := d + 1;
    END LOOP;
    RETURN least(least_days, greatest(0, d - (now() AT TIME ZONE 'UTC')::date));
END $$;

-- Retention by partition: a day of idempotency keys goes once all of it is older than
-- `keep` (at least a day: the app's role calls it); the legacy partition likewise, by
-- its upper bound. DROP locks the table: the caller commits at once.
CREATE FUNCTION idempotency_drop_expired(keep interval) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    p record;
    dropped integer := 0;
BEGIN
    keep := greatest(keep, interval '24 hours');
    SET LOCAL lock_timeout = '2s';
    FOR p IN SELECT * FROM history_partitions('idempotency_key') LOOP
        IF p.upper_bound IS NOT NULL
           AND p.upper_bound::date::timestamp AT TIME ZONE 'UTC' <= now() - keep THEN
            EXECUTE format('DROP TABLE %I', p.name);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END $$;
REVOKE ALL ON FUNCTION idempotency_drop_expired(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION idempotency_drop_expired(interval) TO wallet_app;

-- Published outbox events go a month at a time: a partition is dropped once its whole
-- month is older than `keep_months` (at least one), the relay's cursor is past its last
-- id, and every event in it is published.
CREATE FUNCTION outbox_drop_published(keep_months integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    p record;
    dropped integer := 0;
    cursor_id bigint := (SELECT last_id FROM outbox_relay_cursor);
    unpublished boolean;
BEGIN
    keep_months := greatest(keep_months, 1);
    SET LOCAL lock_timeout = '2s';
    FOR p IN SELECT * FROM history_partitions('outbox_event') LOOP
        CONTINUE WHEN p.upper_bound IS NULL
                   OR p.upper_bound::bigint > history_id_floor(history_month(now()) - keep_months)
                   OR p.upper_bound::bigint - 1 > cursor_id;
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE published_at IS NULL)', p.name)
            INTO unpublished;
        CONTINUE WHEN unpublished;
        EXECUTE format('DROP TABLE %I', p.name);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END $$;
REVOKE ALL ON FUNCTION outbox_drop_published(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION outbox_drop_published(integer) TO wallet_app;

SELECT history_make_partitions();
