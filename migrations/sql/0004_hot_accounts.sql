-- Hot accounts and the ledger write path as one database call (docs/ledger.md).
--
-- A hot account is credited (or debited) by many concurrent entries: the platform's
-- own accounts, big merchants, a very popular recipient. Locking its row for every
-- entry would serialise them all. Instead, a posting to a hot account that cannot
-- break its overdraft rule (any posting when the account may overdraw; a posting that
-- raises the balance when it may not) is appended without touching the account row:
-- the posting is written with no balance snapshot and a delta row is queued. A roll-up
-- (worker, every second, and before any posting that must see the exact balance) moves
-- queued deltas into the account's totals and records the snapshots.

ALTER TABLE ledger_account ADD COLUMN hot boolean NOT NULL DEFAULT false;
UPDATE ledger_account SET hot = true WHERE owner_type = 'system';

-- Deferred postings carry no snapshot when written; the roll-up records it beside them.
ALTER TABLE posting ALTER COLUMN balance_after DROP NOT NULL;

CREATE TABLE ledger_account_delta (
    id         bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES ledger_account (id),
    posting_id bigint NOT NULL REFERENCES posting (id),
    debit      bigint NOT NULL DEFAULT 0 CHECK (debit >= 0),
    credit     bigint NOT NULL DEFAULT 0 CHECK (credit >= 0)
);
CREATE INDEX ledger_account_delta_account_idx ON ledger_account_delta (account_id, posting_id);

CREATE TABLE posting_snapshot (
    posting_id    bigint PRIMARY KEY REFERENCES posting (id),
    balance_after bigint NOT NULL
);
CREATE TRIGGER posting_snapshot_immutable BEFORE UPDATE OR DELETE ON posting_snapshot
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();

-- Balances as readers must see them: the account's totals plus what is still queued.
CREATE VIEW ledger_balance AS
SELECT a.id, a.code, a.owner_type, a.owner_id, a.currency, a.purpose, a.account_type,
       a.normal_side, a.no_overdraft, a.status, a.hot,
       (a.posted_debits + coalesce(d.debits, 0))::bigint AS posted_debits,
       (a.posted_credits + coalesce(d.credits, 0))::bigint AS posted_credits,
       a.pending_debits, a.pending_credits
FROM ledger_account a
LEFT JOIN LATERAL (
    SELECT sum(debit) AS debits, sum(credit) AS credits
    FROM ledger_account_delta WHERE account_id = a.id
) d ON a.hot;

-- Move an account's queued deltas into its totals; the caller holds its row lock.
CREATE FUNCTION ledger_roll_up_locked(target bigint) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    side     char(1);
    running  bigint;
    debits   bigint := 0;
    credits  bigint := 0;
    moved    integer := 0;
    d        record;
BEGIN
    SELECT normal_side,
           CASE normal_side WHEN 'C' THEN posted_credits - posted_debits
                            ELSE posted_debits - posted_credits END
      INTO side, running
      FROM ledger_account WHERE id = target;
    -- Exactly the deltas this statement removes, in posting order, get snapshots.
    FOR d IN
        WITH gone AS (
            DELETE FROM ledger_account_delta WHERE account_id = target
            RETURNING posting_id, debit, credit
        )
        SELECT posting_id, debit, credit FROM gone ORDER BY posting_id
    LOOP
        moved := moved + 1;
        debits := debits + d.debit;
        credits := credits + d.credit;
        running := running + CASE side WHEN 'C' THEN d.credit - d.debit
                                        ELSE d.debit - d.credit END;
        INSERT INTO posting_snapshot (posting_id, balance_after) VALUES (d.posting_id, running);
    END LOOP;
    IF moved > 0 THEN
        UPDATE ledger_account
           SET posted_debits = posted_debits + debits, posted_credits = posted_credits + credits
         WHERE id = target;
    END IF;
    RETURN moved;
END $$;

-- Roll up one hot account if nobody else is doing it right now (worker job).
CREATE FUNCTION ledger_roll_up(target bigint) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM ledger_account WHERE id = target FOR NO KEY UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    RETURN ledger_roll_up_locked(target);
END $$;

-- The ledger write path: post one balanced entry in the caller's transaction.
--   Accounts that need it are locked in ascending id order (no deadlocks); a hot
--   account is locked only when a posting could lower a balance that may not go
--   negative, and then its queued deltas are rolled up first so the check is exact.
--   Errors carry a SQLSTATE of class WL and JSON details the service maps back:
--   WL001 insufficient funds, WL002 account not active, WL003 currency mismatch,
--   WL004 unknown account.
CREATE FUNCTION ledger_post_entry(
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
               CASE a.normal_side WHEN 'C' THEN a.posted_credits - a.posted_debits - a.pending_debits
                                  ELSE a.posted_debits - a.posted_credits - a.pending_credits END
                   AS available,
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
                   posted_credits = posted_credits + CASE sides[i] WHEN 'C' THEN amounts[i] ELSE 0 END
             WHERE id = acc.id
             RETURNING CASE normal_side WHEN 'C' THEN posted_credits - posted_debits
                                        ELSE posted_debits - posted_credits END
              INTO new_balance;
            INSERT INTO posting (entry_id, account_id, currency, side, amount, balance_after)
                VALUES (entry_id, acc.id, currencies[i], sides[i], amounts[i], new_balance);
        END IF;
    END LOOP;

    RETURN entry_id;
END $$;
