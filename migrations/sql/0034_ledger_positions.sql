-- Ledger positions: every posting gets its place in its account's balance chain, so
-- that statements list postings in the order they hit the balance (issue 18, item 2;
-- docs/ledger.md, "Ledger positions and statements").
--
-- A posting's position (`account_seq`, 1, 2, 3 ... per account) and the time it hit
-- the balance (`posted_at`) are assigned at the moment it changes the account's posted
-- totals, under the account's row lock: by `ledger_post_entry` for an ordinary posting,
-- by the roll-up for a deferred one (stored beside its snapshot). The lock is held
-- until commit, so positions commit in order, with no gaps, and `posted_at` never goes
-- back along an account's chain. Posting ids come from a sequence and are not that
-- order (a deferred posting with a smaller id can be rolled up after a larger one).

ALTER TABLE ledger_account
    ADD COLUMN last_seq bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_posted_at timestamptz;
ALTER TABLE posting
    ADD COLUMN account_seq bigint,
    ADD COLUMN posted_at timestamptz;
ALTER TABLE posting_snapshot
    ADD COLUMN account_id bigint REFERENCES ledger_account (id),
    ADD COLUMN account_seq bigint,
    ADD COLUMN posted_at timestamptz;

-- Positions of the postings written before this migration. Where an account's postings
-- in id order form its chain (each balance is the one before plus the posting: every
-- account written under its lock) that is their order; otherwise (a hot account rolled
-- up out of id order) the chain is followed from zero, the lowest id first where two
-- postings fit. What cannot be placed follows in id order, and the `posting_chain`
-- check reports it.
CREATE TEMP TABLE chain_backfill ON COMMIT DROP AS
SELECT p.id AS posting_id, p.account_id, p.created_at, p.balance_after IS NULL AS deferred,
       coalesce(p.balance_after, s.balance_after) AS after,
       CASE WHEN p.side = a.normal_side THEN p.amount ELSE -p.amount END AS delta,
       NULL::bigint AS seq
FROM posting p
JOIN ledger_account a ON a.id = p.account_id
LEFT JOIN posting_snapshot s ON s.posting_id = p.id
WHERE coalesce(p.balance_after, s.balance_after) IS NOT NULL;
CREATE INDEX ON chain_backfill (account_id, posting_id);

WITH ordered AS (
    SELECT posting_id, account_id,
           row_number() OVER w AS n,
           after - delta = lag(after, 1, 0::bigint) OVER w AS fits
    FROM chain_backfill WINDOW w AS (PARTITION BY account_id ORDER BY posting_id)
), whole AS (
    SELECT account_id FROM ordered GROUP BY account_id HAVING bool_and(fits)
)
UPDATE chain_backfill c SET seq = o.n
FROM ordered o JOIN whole USING (account_id)
WHERE c.posting_id = o.posting_id;

DO $$
DECLARE
    acc     bigint;
    running bigint;
    n       bigint;
    nxt     record;
BEGIN
    FOR acc IN SELECT DISTINCT account_id FROM chain_backfill WHERE seq IS NULL LOOP
        running := 0;
        n := 0;
        LOOP
            SELECT posting_id, after INTO nxt FROM chain_backfill
             WHERE account_id = acc AND seq IS NULL AND after - delta = running
             ORDER BY posting_id LIMIT 1;
            EXIT WHEN NOT FOUND;
            n := n + 1;
            UPDATE chain_backfill SET seq = n WHERE posting_id = nxt.posting_id;
            running := nxt.after;
        END LOOP;
        UPDATE chain_backfill c SET seq = n + r.k
          FROM (SELECT posting_id, row_number() OVER (ORDER BY posting_id) AS k
                  FROM chain_backfill WHERE account_id = acc AND seq IS NULL) r
         WHERE c.posting_id = r.posting_id;
    END LOOP;
END $$;

-- The time each hit the balance is not known for them: their creation time, never
-- earlier than the position before.
ALTER TABLE chain_backfill ADD COLUMN posted_at timestamptz;
UPDATE chain_backfill c SET posted_at = m.at
FROM (SELECT posting_id, max(created_at) OVER (PARTITION BY account_id ORDER BY seq) AS at
        FROM chain_backfill) m
WHERE c.posting_id = m.posting_id;

-- The one change ever made to existing ledger rows: filling in the new columns, as the
-- schema's owner, in this migration. The triggers stay in force for everyone else.
ALTER TABLE posting DISABLE TRIGGER posting_immutable;
UPDATE posting p SET account_seq = c.seq, posted_at = c.posted_at
FROM chain_backfill c WHERE c.posting_id = p.id AND NOT c.deferred;
ALTER TABLE posting ENABLE TRIGGER posting_immutable;
ALTER TABLE posting_snapshot DISABLE TRIGGER posting_snapshot_immutable;
UPDATE posting_snapshot s SET account_id = c.account_id, account_seq = c.seq, posted_at = c.posted_at
FROM chain_backfill c WHERE c.posting_id = s.posting_id AND c.deferred;
ALTER TABLE posting_snapshot ENABLE TRIGGER posting_snapshot_immutable;
UPDATE ledger_account a SET last_seq = c.n, last_posted_at = c.at
FROM (SELECT account_id, max(seq) AS n, max(posted_at) AS at FROM chain_backfill
       GROUP BY account_id) c
WHERE c.account_id = a.id;

-- Reading a chain: by account and time (which is also position order). This index
-- replaces (account_id, id): every query by account uses its first column.
CREATE INDEX posting_chain_idx ON posting (account_id, posted_at, account_seq);
DROP INDEX posting_account_idx;
CREATE INDEX posting_snapshot_chain_idx ON posting_snapshot (account_id, posted_at, account_seq);

-- Every posting that has hit its balance, with its position: the ledger's chain.
CREATE VIEW ledger_chain AS
SELECT p.id AS posting_id, p.entry_id, p.account_id, p.currency, p.side, p.amount,
       p.account_seq, p.posted_at, p.balance_after
FROM posting p WHERE p.account_seq IS NOT NULL
UNION ALL
SELECT p.id, p.entry_id, s.account_id, p.currency, p.side, p.amount,
       s.account_seq, s.posted_at, s.balance_after
FROM posting_snapshot s JOIN posting p ON p.id = s.posting_id
WHERE s.account_seq IS NOT NULL;

-- The roll-up gives each deferred posting its position as it records its snapshot.
CREATE OR REPLACE FUNCTION ledger_roll_up_locked(target bigint) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    side     char(1);
    running  bigint;
    seq      bigint;
    at       timestamptz;
    debits   bigint := 0;
    credits  bigint := 0;
    moved    integer := 0;
    d        record;
BEGIN
    SELECT normal_side,
           CASE normal_side WHEN 'C' THEN posted_credits - posted_debits
                            ELSE posted_debits - posted_credits END,
           last_seq, last_posted_at
      INTO side, running, seq, at
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
        seq := seq + 1;
        at := greatest(at, clock_timestamp());
        INSERT INTO posting_snapshot (posting_id, balance_after, account_id, account_seq, posted_at)
            VALUES (d.posting_id, running, target, seq, at);
    END LOOP;
    IF moved > 0 THEN
        UPDATE ledger_account
           SET posted_debits = posted_debits + debits, posted_credits = posted_credits + credits,
               last_seq = seq, last_posted_at = at
         WHERE id = target;
    END IF;
    RETURN moved;
END $$;
ALTER FUNCTION ledger_roll_up_locked(bigint) SET plan_cache_mode = force_generic_plan;

-- The write path of 0004, with one change: an ordinary posting takes the account's next
-- position and the time, in the same UPDATE that moves the totals (under the lock).
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

-- Which business transaction each journal entry belongs to. A transaction can have
-- several entries (an unclaimed transfer's escrow, then its claim or return), and
-- `money_transaction.entry_id` keeps only the latest; this keeps them all, written by
-- the database whenever a transaction is given an entry.
CREATE TABLE transaction_entry (
    entry_id       bigint PRIMARY KEY REFERENCES journal_entry (id),
    transaction_id bigint NOT NULL REFERENCES money_transaction (id)
);
CREATE INDEX transaction_entry_transaction_idx ON transaction_entry (transaction_id);
CREATE TRIGGER transaction_entry_immutable BEFORE UPDATE OR DELETE ON transaction_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
REVOKE UPDATE, DELETE, TRUNCATE ON transaction_entry FROM wallet_app;

CREATE FUNCTION money_transaction_link_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO transaction_entry (entry_id, transaction_id) VALUES (NEW.entry_id, NEW.id)
        ON CONFLICT (entry_id) DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER money_transaction_entry_linked AFTER INSERT ON money_transaction
    FOR EACH ROW WHEN (NEW.entry_id IS NOT NULL)
    EXECUTE FUNCTION money_transaction_link_entry();
CREATE TRIGGER money_transaction_entry_changed AFTER UPDATE OF entry_id ON money_transaction
    FOR EACH ROW WHEN (NEW.entry_id IS NOT NULL AND NEW.entry_id IS DISTINCT FROM OLD.entry_id)
    EXECUTE FUNCTION money_transaction_link_entry();

INSERT INTO transaction_entry (entry_id, transaction_id)
SELECT entry_id, id FROM money_transaction WHERE entry_id IS NOT NULL
ON CONFLICT (entry_id) DO NOTHING;
-- Earlier entries of transactions that moved on (their descriptions name them).
INSERT INTO transaction_entry (entry_id, transaction_id)
SELECT e.id, t.id
FROM journal_entry e
JOIN money_transaction t ON t.id = substring(e.description FROM '^transaction ([0-9]+)$')::bigint
WHERE e.description ~ '^transaction [0-9]+$'
ON CONFLICT (entry_id) DO NOTHING;

-- A user's transactions that have not moved money (pending, failed, expired), newest
-- first, without walking the rest of their history.
CREATE INDEX money_transaction_initiator_unbooked_idx
    ON money_transaction (initiator_user_id, created_at, id) WHERE entry_id IS NULL;
CREATE INDEX money_transaction_counterparty_unbooked_idx
    ON money_transaction (counterparty_user_id, created_at, id) WHERE entry_id IS NULL;
