-- Bill reminders: a payee the user pays every month, set by hand or accepted from the
-- ones detected in their history; the worker reminds a few days before each due date.
CREATE TABLE bill_reminder (
    id                   bigserial PRIMARY KEY,
    user_id              bigint NOT NULL REFERENCES app_user (id),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    merchant_id          bigint REFERENCES merchant (id),
    counterparty_user_id bigint REFERENCES app_user (id),
    currency             char(3) NOT NULL,
    amount               bigint NOT NULL CHECK (amount > 0),
    day_of_month         integer NOT NULL CHECK (day_of_month BETWEEN 1 AND 28),
    remind_days_before   integer NOT NULL DEFAULT 3 CHECK (remind_days_before BETWEEN 0 AND 14),
    next_due             date NOT NULL,
    source               text NOT NULL CHECK (source IN ('manual', 'detected')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (merchant_id IS NULL OR counterparty_user_id IS NULL)
);
CREATE INDEX bill_reminder_due_idx ON bill_reminder (next_due);
CREATE UNIQUE INDEX bill_reminder_payee_idx
    ON bill_reminder (user_id, coalesce(merchant_id, 0), coalesce(counterparty_user_id, 0))
    WHERE merchant_id IS NOT NULL OR counterparty_user_id IS NOT NULL;
