-- An entry's postings are read from the partitions they can be in (issue 17).
--
-- Postings are written in their entry's transaction, after it, so their ids are drawn in
-- the entry's month or, across midnight of the 1st, the next (history_next_id, 0049).
-- Said in the query, PostgreSQL prunes posting's other partitions; unsaid, it probes
-- the entry_id index of every month. That was the history page's running balance
-- (ledger_entry_balance_after, once per row): with a year of months each holding rows,
-- the first page read 2,900 buffers, 400 once bounded, and its p50 grew 4.5 times from
-- 10 k to 1 M transactions (bench/partitioned_history.py, docs/scaling.md section 10).

-- The first id of the month `id` was drawn in, and the first id two months on: a row
-- drawn after `id` in the same transaction has an id between them.
CREATE FUNCTION history_window_start(id bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT history_id_floor(history_id_month(id)) $$;
CREATE FUNCTION history_window_end(id bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT history_id_floor(history_id_month(id) + 2) $$;

CREATE OR REPLACE FUNCTION ledger_entry_balance_after(
    entry bigint, owner_kind text, owner bigint, account_purpose text, in_currency char(3)
) RETURNS TABLE (balance_after bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(p.balance_after, (SELECT s.balance_after FROM posting_snapshot s
                                       WHERE s.posting_id = p.id))
    FROM posting p JOIN ledger_account a ON a.id = p.account_id
    WHERE p.entry_id = entry AND a.owner_type = owner_kind AND a.owner_id = owner
      AND a.purpose = account_purpose AND p.currency = in_currency
      AND p.id >= history_window_start(entry) AND p.id < history_window_end(entry)
    ORDER BY p.id DESC LIMIT 1
$$;
