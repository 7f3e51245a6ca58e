-- Merchants: the second kind of user. A shop (point-of-sale screen) or an online store
-- whose server calls the API with a merchant API key.

ALTER TABLE merchant
    ADD COLUMN mcc char(4) NOT NULL DEFAULT '5999' CHECK (mcc ~ '^[0-9]{4}$'),
    ADD COLUMN country char(2) NOT NULL DEFAULT 'US',
    ADD COLUMN city text NOT NULL DEFAULT '',
    ADD COLUMN settlement_schedule text NOT NULL DEFAULT 'daily'
        CHECK (settlement_schedule IN ('daily', 'weekly')),
    ADD COLUMN settlement_method_id bigint REFERENCES payment_method (id),
    -- Fee: a percentage in basis points plus a fixed amount per currency (minor units).
    ADD COLUMN fee_percent_bp integer NOT NULL DEFAULT 290
        CHECK (fee_percent_bp BETWEEN 0 AND 10000),
    ADD COLUMN fee_fixed jsonb NOT NULL DEFAULT '{"USD": 30}',
    ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended'));

CREATE TABLE merchant_staff (
    merchant_id bigint NOT NULL REFERENCES merchant (id),
    user_id     bigint NOT NULL REFERENCES app_user (id),
    role        text NOT NULL CHECK (role IN ('owner', 'cashier')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, user_id)
);
INSERT INTO merchant_staff (merchant_id, user_id, role)
SELECT id, owner_user_id, 'owner' FROM merchant;

-- Shown once at creation; only a SHA-256 of the secret is kept.
CREATE TABLE merchant_api_key (
    id          bigserial PRIMARY KEY,
    merchant_id bigint NOT NULL REFERENCES merchant (id),
    prefix      text NOT NULL UNIQUE,
    secret_hash text NOT NULL,
    scopes      text[] NOT NULL,
    label       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE payment_request (
    id             bigserial PRIMARY KEY,
    merchant_id    bigint NOT NULL REFERENCES merchant (id),
    currency       char(3) NOT NULL,
    amount         bigint CHECK (amount > 0),      -- NULL: a static code, payer types it
    order_id       text,
    description    text NOT NULL DEFAULT '',
    status         text NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open', 'paid', 'cancelled', 'expired')),
    transaction_id bigint REFERENCES money_transaction (id),
    expires_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    paid_at        timestamptz,
    UNIQUE (merchant_id, order_id),
    CHECK ((amount IS NULL) = (expires_at IS NULL)),
    CHECK (status <> 'paid' OR transaction_id IS NOT NULL)
);

ALTER TABLE money_transaction
    ADD COLUMN merchant_id bigint REFERENCES merchant (id),
    ADD COLUMN payment_request_id bigint REFERENCES payment_request (id),
    ADD COLUMN refund_of_id bigint REFERENCES money_transaction (id),
    ADD COLUMN refunded_amount bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT money_transaction_refund_within_amount
        CHECK (refunded_amount >= 0 AND refunded_amount <= amount);
CREATE INDEX money_transaction_merchant_idx ON money_transaction (merchant_id, id)
    WHERE merchant_id IS NOT NULL;

-- Merchant payables are credited by every sale: hot accounts (docs/ledger.md).
UPDATE ledger_account SET hot = true WHERE owner_type = 'merchant';

-- Transaction PIN for confirming payments (argon2), with lockout after failures.
ALTER TABLE app_user
    ADD COLUMN pin_hash text,
    ADD COLUMN pin_failures integer NOT NULL DEFAULT 0,
    ADD COLUMN pin_locked_until timestamptz;
