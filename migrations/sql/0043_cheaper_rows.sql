-- Cheaper rows for the send path (issue 15, "Cheaper rows").
--
-- 1. money_transaction: five indexes led by a party's user id become two.
--    (initiator_user_id, id), (initiator_user_id, currency, created_at) and
--    (initiator_user_id, created_at) were three insertions per row for one question:
--    "this user's transactions, by time". One (user, created_at, id) index per side
--    answers every reader: the limits' and fraud engine's sums since a time, the
--    rewards' and insights' periods, the AML look-back, the history page (which now
--    pages newest first by (created_at, id), its cursor still a transaction id) and
--    the per-currency fraud baseline (a backward scan of the user's rows filtered by
--    currency). docs/ledger.md lists each query with its plan. No INCLUDE columns:
--    the rows these queries read are recent, rarely all-visible, so an index-only scan
--    would visit the heap anyway, and wider entries cost on every insert.
--    The *_unbooked_idx partial indexes stay: a send is written booked (entry_id set),
--    so they cost it nothing, and without them the activity feed's "not moved money
--    yet" half would walk a user's whole history.
DROP INDEX money_transaction_initiator_idx;
DROP INDEX money_transaction_outgoing_day_idx;
DROP INDEX money_transaction_initiator_time_idx;
DROP INDEX money_transaction_counterparty_idx;
DROP INDEX money_transaction_counterparty_time_idx;
CREATE INDEX money_transaction_initiator_idx
    ON money_transaction (initiator_user_id, created_at, id);
CREATE INDEX money_transaction_counterparty_idx
    ON money_transaction (counterparty_user_id, created_at, id);

-- 2. The balanced-entry check runs once per entry, not once per entry and per posting.
--    It is enough because an entry's postings can only be written in the transaction
--    that wrote the entry: journal_entry.xact_id records that transaction (top level,
--    so savepoints and PL/pgSQL exception blocks inside it count as the same), and a
--    posting for an entry of another transaction is refused at once. Postings are never
--    updated or deleted (posting_immutable), so at COMMIT the entry's trigger sees all
--    of them. Entries written before this migration have no xact_id: they are closed.
ALTER TABLE journal_entry ADD COLUMN xact_id bigint;
ALTER TABLE journal_entry ALTER COLUMN xact_id SET DEFAULT txid_current();

CREATE FUNCTION ledger_posting_entry_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM journal_entry
                    WHERE id = NEW.entry_id AND xact_id = txid_current()) THEN
        RAISE EXCEPTION 'journal entry % was committed earlier: it takes no more postings',
            NEW.entry_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
ALTER FUNCTION ledger_posting_entry_open() SET plan_cache_mode = force_generic_plan;
CREATE TRIGGER posting_entry_open BEFORE INSERT ON posting
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_entry_open();
DROP TRIGGER posting_entry_balanced ON posting;

-- 3. The outbox relay reads by an id cursor (wallet.outbox.relay), so the partial index
--    on unpublished events goes: one insertion less per event, and marking an event
--    published becomes a HOT update (no indexed column, no predicate column, changes).
--    The cursor is "every event with an id up to last_id is published or will never
--    exist". The DROP INDEX waits for every transaction writing events to end, so the
--    value below holds when this migration commits.
DROP INDEX outbox_event_unpublished_idx;
CREATE TABLE outbox_relay_cursor (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_id bigint NOT NULL
);
INSERT INTO outbox_relay_cursor (last_id)
SELECT coalesce((SELECT min(id) - 1 FROM outbox_event WHERE published_at IS NULL),
                (SELECT max(id) FROM outbox_event), 0);
REVOKE DELETE ON outbox_relay_cursor FROM wallet_app;

-- 4. No NOTIFY from the transactions that write events: the relay polls (every 0.2 s by
--    default, FOR UPDATE SKIP LOCKED from its cursor). pg_notify takes a database-wide
--    lock at COMMIT and holds it through the commit's WAL flush, so every sending
--    transaction committed one at a time behind it: the floor of a send ran at 0.26x
--    pgbench with the trigger and 0.74x without (bench/README.md).
DROP TRIGGER outbox_event_notify ON outbox_event;
DROP FUNCTION outbox_notify();

-- (idempotency_key_created_idx is BRIN since 0040.)
