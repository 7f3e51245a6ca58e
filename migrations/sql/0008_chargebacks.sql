-- A card top-up charged back by the card holder's bank: the gateway takes the money back
-- from the platform. The wallet pays what it can; the rest is a debt carried by the
-- chargeback reserve (an asset: what the user owes), and the wallet is restricted
-- (can receive, cannot send or withdraw) until the debt is repaid from incoming money.

-- `restricted`: receives money (to repay), cannot send or withdraw. Unlike `frozen`
-- (an operator's decision, which also refuses incoming transfers).
ALTER TABLE wallet DROP CONSTRAINT wallet_status_check;
ALTER TABLE wallet ADD CONSTRAINT wallet_status_check
    CHECK (status IN ('active', 'restricted', 'frozen', 'closed'));
ALTER TABLE wallet ADD COLUMN restricted_reason text;

CREATE TABLE chargeback_debt (
    id             bigserial PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES app_user (id),
    currency       char(3) NOT NULL,
    amount         bigint NOT NULL CHECK (amount > 0),
    repaid         bigint NOT NULL DEFAULT 0,
    transaction_id bigint NOT NULL REFERENCES money_transaction (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (repaid >= 0 AND repaid <= amount)
);
CREATE INDEX chargeback_debt_open_idx ON chargeback_debt (user_id) WHERE repaid < amount;
