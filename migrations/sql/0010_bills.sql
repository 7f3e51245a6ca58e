-- Bill payments. A biller is a merchant with an account-reference format (a regular
-- expression the customer's reference must match). Users save billers with their
-- reference, pay now, or schedule one-off and recurring payments run by the worker.

ALTER TABLE merchant ADD COLUMN biller_reference_pattern text;

CREATE TABLE saved_biller (
    id                bigserial PRIMARY KEY,
    user_id           bigint NOT NULL REFERENCES app_user (id),
    merchant_id       bigint NOT NULL REFERENCES merchant (id),
    account_reference text NOT NULL,
    nickname          text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, merchant_id, account_reference)
);

CREATE TABLE bill_schedule (
    id              bigserial PRIMARY KEY,
    saved_biller_id bigint NOT NULL REFERENCES saved_biller (id),
    user_id         bigint NOT NULL REFERENCES app_user (id),
    currency        char(3) NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    recurrence      text NOT NULL CHECK (recurrence IN ('once', 'weekly', 'monthly')),
    next_run_at     timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'completed', 'cancelled', 'failed')),
    last_error      text,
    last_transaction_id bigint REFERENCES money_transaction (id),
    reminded_for    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bill_schedule_due_idx ON bill_schedule (next_run_at) WHERE status = 'active';
