-- Issue 16: four-eyes ledger adjustments, and reconciliation against the processor's
-- settlement files (CSV) and the safeguarding bank account's statement (camt.053).

-- An adjusting entry or a reversal one operator proposes and another approves. Only an
-- approved row ever writes to the ledger; the database itself refuses self-approval.
CREATE TABLE ledger_adjustment (
    id                  bigserial PRIMARY KEY,
    kind                text NOT NULL CHECK (kind IN ('entry', 'reversal')),
    reason              text NOT NULL CHECK (length(btrim(reason)) > 0),
    proposed_by         bigint NOT NULL REFERENCES app_user (id),
    proposed_at         timestamptz NOT NULL DEFAULT now(),
    -- kind = 'entry': debit one account, credit another, this much.
    currency            char(3),
    amount              bigint CHECK (amount > 0),
    debit_account_id    bigint REFERENCES ledger_account (id),
    credit_account_id   bigint REFERENCES ledger_account (id),
    -- kind = 'reversal': the transfer to reverse.
    transaction_id      bigint REFERENCES money_transaction (id),
    -- The reconciliation break it resolves, if any.
    recon_break_id      bigint,
    status              text NOT NULL DEFAULT 'proposed'
                        CHECK (status IN ('proposed', 'approved', 'rejected')),
    decided_by          bigint REFERENCES app_user (id),
    decided_at          timestamptz,
    decision_note       text,
    -- What the approval wrote: the adjusting entry, or the reversal's transaction.
    entry_id            bigint REFERENCES journal_entry (id),
    result_transaction_id bigint REFERENCES money_transaction (id),
    CHECK (decided_by IS NULL OR decided_by <> proposed_by),
    CHECK ((status = 'proposed') = (decided_by IS NULL AND decided_at IS NULL)),
    CHECK ((kind = 'entry') = (currency IS NOT NULL AND amount IS NOT NULL
                               AND debit_account_id IS NOT NULL
                               AND credit_account_id IS NOT NULL)),
    CHECK (debit_account_id <> credit_account_id),
    CHECK ((kind = 'reversal') = (transaction_id IS NOT NULL))
);
CREATE UNIQUE INDEX ledger_adjustment_one_open_reversal
    ON ledger_adjustment (transaction_id) WHERE status = 'proposed';
CREATE INDEX ledger_adjustment_open ON ledger_adjustment (id) WHERE status = 'proposed';
REVOKE DELETE ON ledger_adjustment FROM wallet_app;

-- A settlement file as it arrived: kept whole, imported once (by its digest).
CREATE TABLE recon_file (
    id              bigserial PRIMARY KEY,
    source          text NOT NULL CHECK (source IN ('processor', 'bank')),
    format          text NOT NULL CHECK (format IN ('csv', 'camt.053')),
    business_date   date NOT NULL,
    file_name       text NOT NULL,
    digest          text NOT NULL UNIQUE,
    content         bytea NOT NULL,
    items           integer NOT NULL DEFAULT 0,
    imported_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recon_file_date ON recon_file (business_date, source);
REVOKE UPDATE, DELETE ON recon_file FROM wallet_app;

-- One line of a file, and what it matched: a ledger item (a money transaction that
-- moved money through the gateway), another file (a processor batch on the bank
-- statement), or nothing (then a break names it).
CREATE TABLE recon_item (
    id              bigserial PRIMARY KEY,
    file_id         bigint NOT NULL REFERENCES recon_file (id),
    line            integer NOT NULL,
    kind            text NOT NULL,
    reference       text NOT NULL DEFAULT '',
    booked_on       date NOT NULL,
    direction       char(1) NOT NULL CHECK (direction IN ('C', 'D')),
    amount          bigint NOT NULL CHECK (amount > 0),
    currency        char(3) NOT NULL,
    counterparty    text NOT NULL DEFAULT '',
    status          text NOT NULL CHECK (status IN ('matched', 'break')),
    transaction_id  bigint REFERENCES money_transaction (id),
    matched_file_id bigint REFERENCES recon_file (id),
    matched_by      text CHECK (matched_by IN ('reference', 'amount_date_counterparty',
                                               'batch', 'hand')),
    UNIQUE (file_id, line)
);
-- A ledger item is matched by one line at most: a second line for it is a duplicate.
CREATE UNIQUE INDEX recon_item_matched_once ON recon_item (transaction_id)
    WHERE status = 'matched' AND transaction_id IS NOT NULL;
CREATE INDEX recon_item_reference ON recon_item (reference);

-- What did not match. Open until it resolves: by itself (the item arrived late, or its
-- ledger item appeared later) or by an operator (matched by hand with a note, or an
-- approved adjusting entry).
CREATE TABLE recon_break (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL
                    CHECK (kind IN ('missing', 'duplicate', 'amount_mismatch', 'unknown')),
    file_id         bigint NOT NULL REFERENCES recon_file (id),
    item_id         bigint REFERENCES recon_item (id),
    transaction_id  bigint REFERENCES money_transaction (id),
    currency        char(3) NOT NULL,
    -- The ledger's amount and the file's (signed from the platform's side: in > 0).
    ledger_amount   bigint,
    file_amount     bigint,
    detail          text NOT NULL,
    opened_at       timestamptz NOT NULL DEFAULT now(),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolution      text CHECK (resolution IN ('arrived_late', 'matched_later',
                                               'matched_by_hand', 'adjusted')),
    resolved_by     bigint REFERENCES app_user (id),
    resolved_at     timestamptz,
    note            text,
    adjustment_id   bigint REFERENCES ledger_adjustment (id),
    CHECK ((status = 'open') = (resolution IS NULL)),
    CHECK ((kind = 'missing') = (item_id IS NULL))
);
CREATE UNIQUE INDEX recon_break_one_open_missing ON recon_break (transaction_id)
    WHERE kind = 'missing' AND status = 'open';
CREATE INDEX recon_break_open ON recon_break (opened_at) WHERE status = 'open';
REVOKE DELETE ON recon_break FROM wallet_app;
ALTER TABLE ledger_adjustment ADD FOREIGN KEY (recon_break_id) REFERENCES recon_break (id);
CREATE UNIQUE INDEX ledger_adjustment_one_open_per_break
    ON ledger_adjustment (recon_break_id) WHERE status = 'proposed';

-- Safeguarding: customer money held (user and merchant balances, from postings, at the
-- end of the statement's day) against the safeguarding account's closing balance.
CREATE TABLE safeguarding_check (
    id              bigserial PRIMARY KEY,
    file_id         bigint NOT NULL REFERENCES recon_file (id),
    business_date   date NOT NULL,
    currency        char(3) NOT NULL,
    customer_money  bigint NOT NULL,
    bank_balance    bigint NOT NULL,
    difference      bigint GENERATED ALWAYS AS (bank_balance - customer_money) STORED,
    checked_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (file_id, currency)
);
REVOKE UPDATE, DELETE ON safeguarding_check FROM wallet_app;

-- Money at the processor or the bank that the ledger cannot yet attribute to anyone (an
-- unknown item, posted by an approved adjustment): a liability until it is traced.
INSERT INTO ledger_account (code, owner_type, currency, purpose, account_type, normal_side)
SELECT 'system:' || c || ':reconciliation_suspense', 'system', c, 'reconciliation_suspense',
       'liability', 'C'
FROM unnest(ARRAY['USD', 'EUR', 'GBP', 'JPY', 'INR', 'BRL']) AS c
ON CONFLICT (code) DO NOTHING;
