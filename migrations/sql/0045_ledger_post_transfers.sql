-- The batched send path (issue 15, part 2): many two-legged entries in one round trip.
--
-- Each transfer goes through ledger_post_entry, in order, so it takes the same locks,
-- checks and snapshots as an entry posted alone and sees the entries before it. The
-- caller decided every transfer beforehand on a locked snapshot; a refusal here (which
-- that decision should have foreseen) raises and refuses them all.
CREATE FUNCTION ledger_post_transfers(
    entry_kind text, descriptions text[], debits bigint[], credits bigint[],
    amounts bigint[], currencies char(3)[]
) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[] := '{}';
BEGIN
    FOR i IN 1..coalesce(array_length(debits, 1), 0) LOOP
        ids := ids || ledger_post_entry(
            entry_kind, descriptions[i],
            ARRAY[debits[i], credits[i]], ARRAY['D', 'C']::char(1)[],
            ARRAY[amounts[i], amounts[i]], ARRAY[currencies[i], currencies[i]]::char(3)[]);
    END LOOP;
    RETURN ids;
END $$;
ALTER FUNCTION ledger_post_transfers(text, text[], bigint[], bigint[], bigint[], char(3)[])
    SET plan_cache_mode = force_generic_plan;
