-- Payment methods, gateway callbacks, money requests, unclaimed transfers,
-- notifications and operator roles.

-- Only what the gateway hands back is stored: its token and display details.
CREATE TABLE payment_method (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES app_user (id),
    kind         text NOT NULL CHECK (kind IN ('card', 'bank_account')),
    gateway      text NOT NULL DEFAULT 'sandbox',
    token        text NOT NULL UNIQUE,
    brand        text NOT NULL,           -- card brand or bank name
    last4        char(4) NOT NULL,
    exp_month    smallint CHECK (exp_month BETWEEN 1 AND 12),
    exp_year     smallint,
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'removed')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'card') = (exp_month IS NOT NULL AND exp_year IS NOT NULL))
);
CREATE INDEX payment_method_user_idx ON payment_method (user_id, id);

ALTER TABLE money_transaction
    ADD COLUMN payment_method_id bigint REFERENCES payment_method (id),
    ADD COLUMN gateway_ref text UNIQUE,
    ADD COLUMN hold_id bigint REFERENCES ledger_hold (id),
    ADD COLUMN reverses_id bigint UNIQUE REFERENCES money_transaction (id),
    ADD COLUMN recipient_contact text,
    ADD COLUMN expires_at timestamptz;
CREATE INDEX money_transaction_unclaimed_idx ON money_transaction (recipient_contact)
    WHERE recipient_contact IS NOT NULL AND status = 'pending';
-- The daily-limit sum reads a sender's outgoing movements since midnight.
CREATE INDEX money_transaction_outgoing_day_idx
    ON money_transaction (initiator_user_id, currency, created_at);

-- Every callback the gateway delivered, once: a duplicate finds its id here.
CREATE TABLE gateway_event (
    event_id     text PRIMARY KEY,
    gateway      text NOT NULL,
    type         text NOT NULL,
    gateway_ref  text NOT NULL,
    payload      jsonb NOT NULL,
    outcome      text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gateway_event_ref_idx ON gateway_event (gateway_ref);

CREATE TABLE money_request (
    id             bigserial PRIMARY KEY,
    requester_id   bigint NOT NULL REFERENCES app_user (id),
    payer_id       bigint NOT NULL REFERENCES app_user (id),
    currency       char(3) NOT NULL,
    amount         bigint NOT NULL CHECK (amount > 0),
    note           text NOT NULL DEFAULT '',
    status         text NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open', 'paid', 'declined', 'cancelled', 'expired')),
    transaction_id bigint UNIQUE REFERENCES money_transaction (id),
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz,
    CHECK (requester_id <> payer_id),
    CHECK ((status = 'paid') = (transaction_id IS NOT NULL))
);
CREATE INDEX money_request_payer_idx ON money_request (payer_id, id);
CREATE INDEX money_request_requester_idx ON money_request (requester_id, id);
CREATE INDEX money_request_open_idx ON money_request (expires_at) WHERE status = 'open';

-- In-app notifications (the worker also sends them by email/SMS).
CREATE TABLE notification (
    id             bigserial PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES app_user (id),
    kind           text NOT NULL,
    title          text NOT NULL,
    body           text NOT NULL,
    transaction_id bigint REFERENCES money_transaction (id),
    request_id     bigint REFERENCES money_request (id),
    dedupe_key     text NOT NULL UNIQUE,
    read_at        timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_user_idx ON notification (user_id, id);

-- Operators (support, compliance, mediator, admin) are users with a role.
ALTER TABLE app_user ADD COLUMN operator_role text
    CHECK (operator_role IN ('support', 'compliance', 'mediator', 'admin'));

-- A phone or email counts as the user's once they typed the code we sent to it; only
-- then do transfers sent to it before they signed up become theirs.
ALTER TABLE app_user
    ADD COLUMN email_verified_at timestamptz,
    ADD COLUMN phone_verified_at timestamptz;
