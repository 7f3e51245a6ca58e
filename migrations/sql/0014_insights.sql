-- Spending categories, user rules and overrides, budgets (docs/insights.md).

-- Categories from a merchant's MCC: the narrowest range that holds the code wins.
CREATE TABLE category_mcc_range (
    low      integer NOT NULL,
    high     integer NOT NULL,
    category text NOT NULL,
    CHECK (low <= high)
);
INSERT INTO category_mcc_range (low, high, category) VALUES
    (3000, 3999, 'travel'),          -- airlines, car rental, hotels
    (4011, 4011, 'transport'), (4111, 4131, 'transport'), (4784, 4789, 'transport'),
    (4411, 4411, 'travel'), (4511, 4582, 'travel'), (4722, 4723, 'travel'),
    (4812, 4816, 'bills'), (4899, 4900, 'bills'),  -- telecom, cable, utilities
    (5200, 5999, 'shopping'),         -- retail
    (5411, 5411, 'food'), (5422, 5499, 'food'), (5811, 5814, 'food'),
    (5541, 5542, 'transport'),        -- fuel
    (5815, 5818, 'entertainment'),    -- digital goods, games
    (5912, 5912, 'health'), (5975, 5976, 'health'),
    (6300, 6300, 'bills'),            -- insurance
    (7011, 7012, 'travel'), (7512, 7512, 'travel'),
    (7523, 7523, 'transport'),        -- parking
    (7832, 7841, 'entertainment'), (7911, 7999, 'entertainment'),
    (8011, 8099, 'health');

-- "Payee contains X -> category": the earliest matching rule of the user wins.
CREATE TABLE category_rule (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES app_user (id),
    pattern    text NOT NULL CHECK (length(pattern) BETWEEN 1 AND 60 AND pattern = lower(pattern)),
    category   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, pattern)
);

-- A user's own category for one transaction, above every rule.
CREATE TABLE transaction_category (
    transaction_id bigint NOT NULL REFERENCES money_transaction (id),
    user_id        bigint NOT NULL REFERENCES app_user (id),
    category       text NOT NULL,
    PRIMARY KEY (user_id, transaction_id)
);

CREATE TABLE budget (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES app_user (id),
    category      text NOT NULL,
    currency      char(3) NOT NULL,
    amount        bigint NOT NULL CHECK (amount > 0),
    rollover      boolean NOT NULL DEFAULT false,
    alert_percents integer[] NOT NULL DEFAULT '{80,100}',
    starts_month  date NOT NULL DEFAULT date_trunc('month', now() AT TIME ZONE 'UTC')::date,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, category, currency)
);

CREATE INDEX money_transaction_initiator_time_idx
    ON money_transaction (initiator_user_id, created_at);
CREATE INDEX money_transaction_counterparty_time_idx
    ON money_transaction (counterparty_user_id, created_at);
