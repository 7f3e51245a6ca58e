-- ledger_post_transfers (0045) without a scan of every account.
--
-- Its plan is generic (plan_cache_mode = force_generic_plan, as every ledger function):
-- planned once per connection, the arrays' length unknown, so the planner takes
-- generate_series(1, total) for 1,000 rows and joined the legs to ledger_account by
-- hashing the whole table: two sequential scans of every account per batch (5.7 ms of a
-- batch of 16 sends with 10,000 accounts, and growing with them; seen with auto_explain
-- in the benchmark, bench/README.md). Each join to ledger_account now also names the
-- accounts the batch touches (`a.id = ANY(touched)`), which the primary key answers, so
-- the plan reads those rows alone whatever the estimate. Nothing else changes.
CREATE OR REPLACE FUNCTION ledger_post_transfers(
    entry_kind text, descriptions text[], debits bigint[], credits bigint[],
    amounts bigint[], currencies char(3)[]
) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    total   integer := coalesce(array_length(debits, 1), 0);
    touched bigint[] := debits || credits;
    ids     bigint[];
    bad     record;
    stamp   timestamptz;
BEGIN
    IF total = 0 THEN
        RETURN '{}';
    END IF;
    IF (SELECT count(*) FROM ledger_account a
         WHERE a.id = ANY(touched) AND a.status = 'active' AND a.account_type = 'liability'
           AND a.normal_side = 'C' AND NOT (a.hot AND a.id = ANY(debits)))
       <> (SELECT count(DISTINCT x) FROM unnest(touched) x) THEN
        ids := '{}';
        FOR i IN 1..total LOOP
            ids := ids || ledger_post_entry(
                entry_kind, descriptions[i],
                ARRAY[debits[i], credits[i]], ARRAY['D', 'C']::char(1)[],
                ARRAY[amounts[i], amounts[i]], ARRAY[currencies[i], currencies[i]]::char(3)[]);
        END LOOP;
        RETURN ids;
    END IF;

    -- Lock in ascending id order, as ledger_post_entry does (a hot account credited takes
    -- no lock: its credits are deferred).
    PERFORM 1 FROM ledger_account WHERE id = ANY(touched) AND NOT hot ORDER BY id
        FOR NO KEY UPDATE;
    stamp := clock_timestamp();  -- once: positions and times of an account rise together

    SELECT a.id, a.currency, x.cur INTO bad
      FROM unnest(debits, credits, currencies) AS x(d, c, cur)
      JOIN ledger_account a ON a.id IN (x.d, x.c)
     WHERE a.currency <> x.cur LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'currency mismatch' USING ERRCODE = 'WL003',
            DETAIL = json_build_object('account_id', bad.id, 'account_currency', bad.currency,
                                       'posting_currency', bad.cur)::text;
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(amounts) x WHERE x <= 0) THEN
        RAISE EXCEPTION 'posting amounts must be positive' USING ERRCODE = 'check_violation';
    END IF;

    -- Funds: the first transfer, in order, that would take its account below zero.
    SELECT r.id, r.before AS available, r.amount AS requested INTO bad FROM (
        SELECT a.id, l.n, l.amount, l.side,
               ledger_available(a.normal_side, a.posted_debits, a.posted_credits,
                                a.pending_debits, a.pending_credits)
                 + sum(CASE l.side WHEN 'C' THEN l.amount ELSE -l.amount END)
                       OVER (PARTITION BY l.acct ORDER BY l.n)
                 + CASE l.side WHEN 'D' THEN l.amount ELSE -l.amount END AS before
          FROM (SELECT i AS n, debits[i] AS acct, 'D' AS side, amounts[i] AS amount
                  FROM generate_series(1, total) i
                UNION ALL
                SELECT i, credits[i], 'C', amounts[i] FROM generate_series(1, total) i) l
          JOIN ledger_account a ON a.id = l.acct AND a.no_overdraft AND NOT a.hot
                                AND a.id = ANY(touched)
    ) r WHERE r.side = 'D' AND r.before < r.amount ORDER BY r.n LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insufficient funds' USING ERRCODE = 'WL001',
            DETAIL = json_build_object('account_id', bad.id, 'available', bad.available,
                                       'requested', bad.requested)::text;
    END IF;

    ids := ARRAY(SELECT nextval('journal_entry_id_seq') FROM generate_series(1, total));
    INSERT INTO journal_entry (id, kind, description)
        SELECT ids[i], entry_kind, descriptions[i] FROM generate_series(1, total) i;

    WITH legs AS (
        SELECT i AS n, debits[i] AS acct, 'D'::char(1) AS side, amounts[i] AS amount,
               currencies[i] AS cur
          FROM generate_series(1, total) i
        UNION ALL
        SELECT i, credits[i], 'C'::char(1), amounts[i], currencies[i] FROM generate_series(1, total) i
    ), placed AS (
        SELECT l.n, l.acct, l.side, l.amount, l.cur, a.hot,
               a.posted_credits - a.posted_debits
                 + sum(CASE l.side WHEN 'C' THEN l.amount ELSE -l.amount END)
                       OVER (PARTITION BY l.acct ORDER BY l.n) AS balance_after,
               a.last_seq + row_number() OVER (PARTITION BY l.acct ORDER BY l.n) AS seq,
               greatest(a.last_posted_at, stamp) AS at
          FROM legs l JOIN ledger_account a ON a.id = l.acct AND a.id = ANY(touched)
    ), posted AS (
        INSERT INTO posting (entry_id, account_id, currency, side, amount, balance_after,
                             account_seq, posted_at)
        SELECT ids[p.n], p.acct, p.cur, p.side, p.amount,
               CASE WHEN p.hot THEN NULL ELSE p.balance_after END,
               CASE WHEN p.hot THEN NULL ELSE p.seq END,
               CASE WHEN p.hot THEN NULL ELSE p.at END
          FROM placed p ORDER BY p.n, p.side DESC
        RETURNING id, account_id, side, amount, balance_after IS NULL AS deferred
    ), deferred AS (
        INSERT INTO ledger_account_delta (account_id, posting_id, debit, credit)
        SELECT account_id, id, CASE side WHEN 'D' THEN amount ELSE 0 END,
               CASE side WHEN 'C' THEN amount ELSE 0 END
          FROM posted WHERE deferred
    )
    UPDATE ledger_account a
       SET posted_debits = a.posted_debits + t.debits,
           posted_credits = a.posted_credits + t.credits,
           last_seq = a.last_seq + t.moves,
           last_posted_at = t.at
      FROM (SELECT acct, coalesce(sum(amount) FILTER (WHERE side = 'D'), 0) AS debits,
                   coalesce(sum(amount) FILTER (WHERE side = 'C'), 0) AS credits,
                   count(*) AS moves, max(at) AS at
              FROM placed WHERE NOT hot GROUP BY acct) t
     WHERE a.id = t.acct AND a.id = ANY(touched);
    RETURN ids;
END $$;
ALTER FUNCTION ledger_post_transfers(text, text[], bigint[], bigint[], bigint[], char(3)[])
    SET plan_cache_mode = force_generic_plan;
