-- Rewards: points and cashback earned by rules (data), tiers, referral bonuses.
-- Cashback and points are ledger movements funded from `rewards_expense`; points live
-- in a points account of the user, valued at the published rate of 100 points = 1 USD
-- (one point per US cent), so they are a liability of the platform like a wallet.

INSERT INTO ledger_account (code, owner_type, currency, purpose, account_type, normal_side, hot)
SELECT 'system:' || c || ':rewards_expense', 'system', c, 'rewards_expense', 'expense', 'D', true
FROM unnest(ARRAY['USD', 'EUR', 'GBP', 'JPY', 'INR', 'BRL']) AS c
ON CONFLICT (code) DO NOTHING;

-- Earning rules. Every active rule that matches a payment applies: points rules add up,
-- and the best cashback rule wins. A null condition matches anything.
CREATE TABLE reward_rule (
    id                bigserial PRIMARY KEY,
    name              text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('points', 'cashback')),
    category          text,
    merchant_id       bigint REFERENCES merchant (id),
    min_amount_usd    bigint NOT NULL DEFAULT 0,   -- tier of the amount, in US cents
    points_per_usd    numeric(10, 2) NOT NULL DEFAULT 0 CHECK (points_per_usd >= 0),
    cashback_bps      integer NOT NULL DEFAULT 0 CHECK (cashback_bps BETWEEN 0 AND 2000),
    cap_per_payment_usd bigint CHECK (cap_per_payment_usd > 0),  -- US cents
    cap_per_month_usd bigint CHECK (cap_per_month_usd > 0),
    active            boolean NOT NULL DEFAULT true
);
INSERT INTO reward_rule (name, kind, points_per_usd) VALUES ('Every payment', 'points', 1);
INSERT INTO reward_rule (name, kind, category, points_per_usd)
    VALUES ('Eating out', 'points', 'food', 2);
INSERT INTO reward_rule (name, kind, min_amount_usd, points_per_usd)
    VALUES ('Big basket', 'points', 10000, 1);
INSERT INTO reward_rule
    (name, kind, category, cashback_bps, cap_per_payment_usd, cap_per_month_usd)
VALUES ('Food cashback', 'cashback', 'food', 200, 500, 2000),
       ('Travel cashback', 'cashback', 'travel', 300, 3000, 5000);

-- What was earned on each payment, and how much of it a refund took back.
CREATE TABLE reward_award (
    payment_id        bigint PRIMARY KEY REFERENCES money_transaction (id),
    user_id           bigint NOT NULL REFERENCES app_user (id),
    points            bigint NOT NULL DEFAULT 0 CHECK (points >= 0),
    points_reversed   bigint NOT NULL DEFAULT 0 CHECK (points_reversed >= 0),
    cashback          bigint NOT NULL DEFAULT 0 CHECK (cashback >= 0),
    cashback_reversed bigint NOT NULL DEFAULT 0 CHECK (cashback_reversed >= 0),
    cashback_usd      bigint NOT NULL DEFAULT 0,  -- toward the monthly cap
    currency          char(3) NOT NULL,
    cashback_transaction_id bigint REFERENCES money_transaction (id),
    tier              text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (points_reversed <= points AND cashback_reversed <= cashback)
);
CREATE INDEX reward_award_user_idx ON reward_award (user_id, created_at);

-- Referrals: the bonus is paid once the referred user is verified and has made a
-- first payment or transfer.
ALTER TABLE app_user ADD COLUMN referred_by bigint REFERENCES app_user (id);
CREATE TABLE referral_bonus (
    referred_user_id bigint PRIMARY KEY REFERENCES app_user (id),
    referrer_id      bigint NOT NULL REFERENCES app_user (id),
    transaction_id   bigint NOT NULL REFERENCES money_transaction (id),
    created_at       timestamptz NOT NULL DEFAULT now()
);
