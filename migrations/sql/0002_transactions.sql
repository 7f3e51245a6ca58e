-- Business-level transactions with their state machine, and the append-only record of
-- every state transition.

CREATE TABLE money_transaction (
    id                   bigserial PRIMARY KEY,
    type                 text NOT NULL CHECK (type IN (
        'add', 'send', 'payment', 'refund', 'withdrawal', 'fx', 'fee', 'reward',
        'settlement', 'chargeback', 'promotional_credit', 'reversal')),
    status               text NOT NULL CHECK (status IN (
        'initiated', 'pending', 'processing', 'completed', 'failed', 'reversed', 'expired')),
    initiator_user_id    bigint REFERENCES app_user (id),
    counterparty_user_id bigint REFERENCES app_user (id),
    currency             char(3) NOT NULL,
    amount               bigint NOT NULL CHECK (amount > 0),
    note                 text NOT NULL DEFAULT '',
    entry_id             bigint REFERENCES journal_entry (id),
    failure_reason       text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX money_transaction_initiator_idx ON money_transaction (initiator_user_id, id);
CREATE INDEX money_transaction_counterparty_idx ON money_transaction (counterparty_user_id, id);

CREATE TABLE transaction_transition (
    id             bigserial PRIMARY KEY,
    transaction_id bigint NOT NULL REFERENCES money_transaction (id),
    from_status    text,
    to_status      text NOT NULL,
    reason         text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transaction_transition_txn_idx ON transaction_transition (transaction_id, id);

CREATE TRIGGER transaction_transition_immutable BEFORE UPDATE OR DELETE ON transaction_transition
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();

-- Verification level drives limits now; the full KYC flow arrives later.
ALTER TABLE app_user ADD COLUMN verification_level text NOT NULL DEFAULT 'unverified'
    CHECK (verification_level IN ('unverified', 'basic', 'full', 'premium'));
