-- The ledger's write path runs a dozen small statements per entry, each looking rows up by
-- id (or `id = ANY(ids)`). PL/pgSQL planned them anew on every call (custom plans for the
-- array parameters); a generic plan is as good for such lookups and is made once per
-- session. Measured with pgbench calling ledger_post_entry from 16 clients: 18-35 % more
-- entries per second (docs/ledger.md, "Performance"). A later CREATE OR REPLACE of these
-- functions must repeat the SET clause.
ALTER FUNCTION ledger_post_entry(text, text, bigint[], char(1)[], bigint[], char(3)[])
    SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION ledger_check_entry_balanced() SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION ledger_roll_up_locked(bigint) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION ledger_roll_up(bigint) SET plan_cache_mode = force_generic_plan;
