-- The ledger owns its tables and the balance formula (issue 15).
--
-- "Available" (what an account can spend: its posted balance on its normal side minus
-- what pending holds reserve against it) is defined once, here, as `ledger_available`.
-- The no-overdraft CHECK, the write path's overdraft check, the balance view (a new
-- `available` column, over the totals plus a hot account's queued deltas) and the
-- `no_overdraft` invariant all call it; Python reads it from the view or from a locked
-- row (wallet.ledger.service) and never computes it.
--
-- Hot accounts (docs/ledger.md): a deferred posting never lowers the balance of an
-- account that may not overdraw, so for such an account the view's `available` (totals
-- plus queued deltas) is at least the locked row's after a roll-up, and the write path,
-- which rolls a hot account up under its lock before checking, applies the same formula
-- to exact totals.
--
-- Plus the two read functions other domains use to join the ledger into their own
-- queries without naming its tables (inlined by the planner: LANGUAGE sql, STABLE, no
-- SET clause): a wallet's chain lines for the activity feed, and the balance after an
-- entry for the transaction list.

-- Immutable and a plain expression, so the planner inlines it wherever it is called.
CREATE FUNCTION ledger_available(
    normal_side char(1), posted_debits bigint, posted_credits bigint,
    pending_debits bigint, pending_credits bigint
) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE normal_side WHEN 'C' THEN posted_credits - posted_debits - pending_debits
                            ELSE posted_debits - posted_credits - pending_credits END
$$;

ALTER TABLE ledger_account DROP CONSTRAINT ledger_account_no_overdraft;
ALTER TABLE ledger_account ADD CONSTRAINT ledger_account_no_overdraft CHECK (
    NOT no_overdraft
    OR ledger_available(normal_side, posted_debits, posted_credits,
                        pending_debits, pending_credits) >= 0
);

-- The view of 0004 plus `available`, computed from the same totals readers see.
CREATE OR REPLACE VIEW ledger_balance AS
SELECT b.*,
       ledger_available(b.normal_side, b.posted_debits, b.posted_credits,
                        b.pending_debits, b.pending_credits) AS available
FROM (
    SELECT a.id, a.code, a.owner_type, a.owner_id, a.currency, a.purpose, a.account_type,
           a.normal_side, a.no_overdraft, a.status, a.hot,
           (a.posted_debits + coalesce(d.debits, 0))::bigint AS posted_debits,
           (a.posted_credits + coalesce(d.credits, 0))::bigint AS posted_credits,
           a.pending_debits, a.pending_credits
    FROM ledger_account a
    LEFT JOIN LATERAL (
        SELECT sum(debit) AS debits, sum(credit) AS credits
        FROM ledger_account_delta WHERE account_id = a.id
    ) d ON a.hot
) b;

-- The write path of 0034, with its overdraft check reading `ledger_available`.
CREATE OR REPLACE FUNCTION ledger_post_entry(
    entry_kind text, entry_description text,
    account_ids bigint[], sides char(1)[], amounts bigint[], currencies char(3)[]
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n           integer := array_length(account_ids, 1);
    entry_id    bigint;
    acc         record;
    i           integer;
    reduces     boolean;
    deferred    boolean;
    new_balance bigint;
    new_seq     bigint;
    new_at      timestamptz;
    posting     bigint;
    needs_lock  bigint[];
    found_ids   bigint[];
BEGIN
    SELECT array_agg(a.id ORDER BY a.id), array_agg(a.id ORDER BY a.id) FILTER (
               WHERE NOT a.hot OR (a.no_overdraft AND EXISTS (
                   SELECT 1 FROM unnest(account_ids, sides) AS p(id, side)
                   WHERE p.id = a.id AND p.side <> a.normal_side)))
      INTO found_ids, needs_lock
      FROM ledger_account a WHERE a.id = ANY(account_ids);
    IF coalesce(array_length(found_ids, 1), 0) <> (SELECT count(DISTINCT x) FROM unnest(account_ids) x) THEN
        RAISE EXCEPTION 'unknown account in entry' USING ERRCODE = 'WL004',
            DETAIL = json_build_object('account_ids', (
                SELECT array_agg(x) FROM unnest(account_ids) x WHERE x <> ALL(coalesce(found_ids, '{}'))))::text;
    END IF;
    -- Lock in ascending id order; roll up any locked hot account so checks are exact.
    FOR acc IN SELECT id, hot FROM ledger_account WHERE id = ANY(needs_lock) ORDER BY id FOR NO KEY UPDATE
    LOOP
        IF acc.hot THEN
            PERFORM ledger_roll_up_locked(acc.id);
        END IF;
    END LOOP;

    -- Every posting is in its account's currency; closed accounts take nothing and
    -- frozen ones can only receive.
    FOR i IN 1..n LOOP
        SELECT id, currency, normal_side, no_overdraft, status, hot INTO acc
          FROM ledger_account WHERE id = account_ids[i];
        IF acc.currency <> currencies[i] THEN
            RAISE EXCEPTION 'currency mismatch' USING ERRCODE = 'WL003',
                DETAIL = json_build_object('account_id', acc.id, 'account_currency', acc.currency,
                                           'posting_currency', currencies[i])::text;
        END IF;
        reduces := sides[i] <> acc.normal_side;
        IF acc.status = 'closed' OR (acc.status = 'frozen' AND reduces) THEN
            RAISE EXCEPTION 'account not active' USING ERRCODE = 'WL002',
                DETAIL = json_build_object('account_id', acc.id, 'status', acc.status)::text;
        END IF;
    END LOOP;

    -- No account that may not overdraw may end below zero available: checked before writing.
    FOR acc IN
        SELECT a.id,
               ledger_available(a.normal_side, a.posted_debits, a.posted_credits,
                                a.pending_debits, a.pending_credits) AS available,
               (SELECT coalesce(sum(x.amount), 0) FROM unnest(account_ids, sides, amounts)
                    AS x(id, side, amount) WHERE x.id = a.id AND x.side <> a.normal_side)
                   AS requested,
               (SELECT coalesce(sum(CASE WHEN x.side = a.normal_side THEN x.amount
                                         ELSE -x.amount END), 0)
                  FROM unnest(account_ids, sides, amounts) AS x(id, side, amount)
                 WHERE x.id = a.id) AS net
        FROM ledger_account a
        WHERE a.id = ANY(needs_lock) AND a.no_overdraft
    LOOP
        IF acc.available + acc.net < 0 THEN
            RAISE EXCEPTION 'insufficient funds' USING ERRCODE = 'WL001',
                DETAIL = json_build_object('account_id', acc.id,
                                           'available', acc.available,
                                           'requested', acc.requested)::text;
        END IF;
    END LOOP;

    INSERT INTO journal_entry (kind, description) VALUES (entry_kind, entry_description)
        RETURNING id INTO entry_id;

    FOR i IN 1..n LOOP
        SELECT id, normal_side, no_overdraft, hot INTO acc
          FROM ledger_account WHERE id = account_ids[i];
        reduces := sides[i] <> acc.normal_side;
        deferred := acc.hot AND NOT (acc.no_overdraft AND reduces);
        IF deferred THEN
            INSERT INTO posting (entry_id, account_id, currency, side, amount, balance_after)
                VALUES (entry_id, acc.id, currencies[i], sides[i], amounts[i], NULL)
                RETURNING id INTO posting;
            INSERT INTO ledger_account_delta (account_id, posting_id, debit, credit)
                VALUES (acc.id, posting,
                        CASE sides[i] WHEN 'D' THEN amounts[i] ELSE 0 END,
                        CASE sides[i] WHEN 'C' THEN amounts[i] ELSE 0 END);
        ELSE
            UPDATE ledger_account
               SET posted_debits = posted_debits + CASE sides[i] WHEN 'D' THEN amounts[i] ELSE 0 END,
                   posted_credits = posted_credits + CASE sides[i] WHEN 'C' THEN amounts[i] ELSE 0 END,
                   last_seq = last_seq + 1,
                   last_posted_at = greatest(last_posted_at, clock_timestamp())
             WHERE id = acc.id
             RETURNING CASE normal_side WHEN 'C' THEN posted_credits - posted_debits
                                        ELSE posted_debits - posted_credits END,
                       last_seq, last_posted_at
              INTO new_balance, new_seq, new_at;
            INSERT INTO posting (entry_id, account_id, currency, side, amount, balance_after,
                                 account_seq, posted_at)
                VALUES (entry_id, acc.id, currencies[i], sides[i], amounts[i], new_balance,
                        new_seq, new_at);
        END IF;
    END LOOP;

    RETURN entry_id;
END $$;
ALTER FUNCTION ledger_post_entry(text, text, bigint[], char(1)[], bigint[], char(3)[])
    SET plan_cache_mode = force_generic_plan;

-- The ids of an owner's accounts of one purpose, closed ones too (a closed balance
-- still has a history).
CREATE FUNCTION ledger_owner_accounts(owner_kind text, owner bigint, account_purpose text)
RETURNS TABLE (account_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT a.id FROM ledger_account a
    WHERE a.owner_type = owner_kind AND a.owner_id = owner AND a.purpose = account_purpose
$$;

-- An account's chain (view ledger_chain) with each posting's entry kind and its amount
-- signed on the account's normal side (+ raises the balance). Callers filter and order
-- by (posted_at, account_seq), which the chain's indexes serve once this is inlined.
CREATE FUNCTION ledger_account_lines(account bigint)
RETURNS TABLE (account_id bigint, account_seq bigint, posted_at timestamptz,
               entry_id bigint, entry_kind text, currency char(3), delta bigint,
               balance_after bigint)
LANGUAGE sql STABLE AS $$
    SELECT c.account_id, c.account_seq, c.posted_at, c.entry_id, e.kind, c.currency,
           CASE WHEN c.side = a.normal_side THEN c.amount ELSE -c.amount END,
           c.balance_after
    FROM ledger_chain c
    JOIN ledger_account a ON a.id = c.account_id
    JOIN journal_entry e ON e.id = c.entry_id
    WHERE c.account_id = account
$$;

-- The owner's balance (of `account_purpose`, in `in_currency`) right after the entry's
-- last posting on it: the posting's own snapshot, or its roll-up snapshot on a hot
-- account (none while still queued).
CREATE FUNCTION ledger_entry_balance_after(
    entry bigint, owner_kind text, owner bigint, account_purpose text, in_currency char(3)
) RETURNS TABLE (balance_after bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(p.balance_after, (SELECT s.balance_after FROM posting_snapshot s
                                       WHERE s.posting_id = p.id))
    FROM posting p JOIN ledger_account a ON a.id = p.account_id
    WHERE p.entry_id = entry AND a.owner_type = owner_kind AND a.owner_id = owner
      AND a.purpose = account_purpose AND p.currency = in_currency
    ORDER BY p.id DESC LIMIT 1
$$;
