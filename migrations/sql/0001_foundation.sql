-- Foundation schema: users, wallets, the double-entry ledger with its database-side
-- guards, the transactional outbox and idempotency keys.

CREATE TABLE app_user (
    id            bigserial PRIMARY KEY,
    email         text NOT NULL,
    phone         text NOT NULL,
    username      text NOT NULL,
    password_hash text NOT NULL,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX app_user_email_key ON app_user (lower(email));
CREATE UNIQUE INDEX app_user_phone_key ON app_user (phone);
CREATE UNIQUE INDEX app_user_username_key ON app_user (lower(username));

CREATE TABLE wallet (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL UNIQUE REFERENCES app_user (id),
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'closed')),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Merchants get their full onboarding later; the row exists so the ledger can own
-- merchant payable accounts and the demo can seed a shop.
CREATE TABLE merchant (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL,
    owner_user_id bigint NOT NULL REFERENCES app_user (id),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Ledger ------------------------------------------------------------------------------

-- One account per (owner, currency, purpose). Balances live on the row (TigerBeetle's
-- model): posted/pending debits and credits, all non-negative running totals.
CREATE TABLE ledger_account (
    id              bigserial PRIMARY KEY,
    code            text NOT NULL UNIQUE,
    owner_type      text NOT NULL CHECK (owner_type IN ('user', 'merchant', 'system')),
    owner_id        bigint,
    currency        char(3) NOT NULL,
    purpose         text NOT NULL,
    account_type    text NOT NULL
                    CHECK (account_type IN ('asset', 'liability', 'equity', 'revenue', 'expense')),
    normal_side     char(1) NOT NULL CHECK (normal_side IN ('D', 'C')),
    no_overdraft    boolean NOT NULL DEFAULT false,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'closed')),
    posted_debits   bigint NOT NULL DEFAULT 0 CHECK (posted_debits >= 0),
    posted_credits  bigint NOT NULL DEFAULT 0 CHECK (posted_credits >= 0),
    pending_debits  bigint NOT NULL DEFAULT 0 CHECK (pending_debits >= 0),
    pending_credits bigint NOT NULL DEFAULT 0 CHECK (pending_credits >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, currency),
    CHECK ((owner_type = 'system') = (owner_id IS NULL)),
    -- Available balance of an account that may not overdraw never goes below zero:
    -- posted balance on its normal side minus what is reserved against it.
    CONSTRAINT ledger_account_no_overdraft CHECK (
        NOT no_overdraft OR (
            CASE normal_side
                WHEN 'C' THEN posted_credits - posted_debits - pending_debits
                ELSE posted_debits - posted_credits - pending_credits
            END
        ) >= 0
    )
);
CREATE UNIQUE INDEX ledger_account_owner_key
    ON ledger_account (owner_type, coalesce(owner_id, 0), currency, purpose);

CREATE TABLE journal_entry (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL,
    description text NOT NULL DEFAULT '',
    reverses_id bigint REFERENCES journal_entry (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE posting (
    id            bigserial PRIMARY KEY,
    entry_id      bigint NOT NULL REFERENCES journal_entry (id),
    account_id    bigint NOT NULL,
    currency      char(3) NOT NULL,
    side          char(1) NOT NULL CHECK (side IN ('D', 'C')),
    amount        bigint NOT NULL CHECK (amount > 0),
    -- Posted balance of the account on its normal side right after this posting.
    balance_after bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, currency) REFERENCES ledger_account (id, currency)
);
CREATE INDEX posting_entry_idx ON posting (entry_id);
CREATE INDEX posting_account_idx ON posting (account_id, id);

-- Two-phase movements: a hold reserves `amount` (pending debit on the debit account,
-- pending credit on the credit account) until it is posted, voided or expires.
CREATE TABLE ledger_hold (
    id                bigserial PRIMARY KEY,
    debit_account_id  bigint NOT NULL,
    credit_account_id bigint NOT NULL,
    currency          char(3) NOT NULL,
    amount            bigint NOT NULL CHECK (amount > 0),
    posted_amount     bigint NOT NULL DEFAULT 0 CHECK (posted_amount >= 0),
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'posted', 'voided', 'expired')),
    expires_at        timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    resolved_at       timestamptz,
    CHECK (posted_amount <= amount),
    CHECK (debit_account_id <> credit_account_id),
    FOREIGN KEY (debit_account_id, currency) REFERENCES ledger_account (id, currency),
    FOREIGN KEY (credit_account_id, currency) REFERENCES ledger_account (id, currency)
);
CREATE INDEX ledger_hold_pending_idx ON ledger_hold (expires_at) WHERE status = 'pending';

-- Journal entries and postings are immutable: corrections are new reversing entries.
CREATE FUNCTION ledger_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are immutable: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER journal_entry_immutable BEFORE UPDATE OR DELETE ON journal_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER journal_entry_no_truncate BEFORE TRUNCATE ON journal_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER posting_immutable BEFORE UPDATE OR DELETE ON posting
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER posting_no_truncate BEFORE TRUNCATE ON posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

-- At commit, every entry touched by the transaction has at least two postings and
-- balances per currency (sum of debits = sum of credits).
CREATE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target   bigint;
    n        bigint;
    bad_cur  text;
BEGIN
    IF TG_TABLE_NAME = 'posting' THEN
        target := NEW.entry_id;
    ELSE
        target := NEW.id;
    END IF;
    SELECT count(*) INTO n FROM posting WHERE entry_id = target;
    IF n < 2 THEN
        RAISE EXCEPTION 'journal entry % has % posting(s); at least 2 are required', target, n
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT currency INTO bad_cur FROM posting WHERE entry_id = target
        GROUP BY currency
        HAVING sum(CASE side WHEN 'D' THEN amount ELSE 0 END)
            <> sum(CASE side WHEN 'C' THEN amount ELSE 0 END)
        LIMIT 1;
    IF bad_cur IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % does not balance in %', target, bad_cur
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER journal_entry_balanced AFTER INSERT ON journal_entry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();
CREATE CONSTRAINT TRIGGER posting_entry_balanced AFTER INSERT ON posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();

-- Outbox -------------------------------------------------------------------------------

-- Events written in the same transaction as the change they describe; the relay
-- publishes them after commit. NOTIFY is itself transactional, so the relay is woken
-- only once the rows are visible.
CREATE TABLE outbox_event (
    id           bigserial PRIMARY KEY,
    topic        text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_event_unpublished_idx ON outbox_event (id) WHERE published_at IS NULL;

CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_event', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_event_notify AFTER INSERT ON outbox_event
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Idempotency --------------------------------------------------------------------------

-- One row per (principal, client key): committed with the movement it guards.
CREATE TABLE idempotency_key (
    principal   text NOT NULL,
    key         text NOT NULL,
    fingerprint text NOT NULL,
    response    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_key_created_idx ON idempotency_key (created_at);

-- Chart of accounts: the platform's own accounts, one per currency and purpose.
INSERT INTO ledger_account (code, owner_type, currency, purpose, account_type, normal_side)
SELECT 'system:' || c || ':' || p.purpose, 'system', c, p.purpose, p.account_type, p.normal_side
FROM unnest(ARRAY['USD', 'EUR', 'GBP', 'JPY', 'INR', 'BRL']) AS c
CROSS JOIN (VALUES
    ('gateway_clearing:sandbox', 'asset', 'D'),
    ('fee_revenue', 'revenue', 'C'),
    ('unclaimed_transfers', 'liability', 'C'),
    ('chargeback_reserve', 'asset', 'D'),
    ('promotional_funding', 'expense', 'D')
) AS p (purpose, account_type, normal_side);
