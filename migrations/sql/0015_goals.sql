-- Savings goals: named vaults with a target, each a ledger account of its user
-- (`user:<id>:<CUR>:vault:<goal>`, a liability with no overdraft), funded by hand, by
-- round-ups of merchant payments and by a weekly amount the worker moves.

ALTER TABLE money_transaction DROP CONSTRAINT money_transaction_type_check;
ALTER TABLE money_transaction ADD CONSTRAINT money_transaction_type_check CHECK (type IN (
    'add', 'send', 'payment', 'refund', 'withdrawal', 'fx', 'fee', 'reward', 'settlement',
    'chargeback', 'promotional_credit', 'reversal', 'savings', 'savings_withdrawal'));

CREATE TABLE savings_goal (
    id             bigserial PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES app_user (id),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    currency       char(3) NOT NULL,
    target         bigint NOT NULL CHECK (target > 0),
    target_date    date,
    account_id     bigint NOT NULL UNIQUE REFERENCES ledger_account (id),
    round_up       boolean NOT NULL DEFAULT false,
    weekly_amount  bigint NOT NULL DEFAULT 0 CHECK (weekly_amount >= 0),
    next_weekly_at timestamptz,
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX savings_goal_user_idx ON savings_goal (user_id);
CREATE INDEX savings_goal_weekly_idx ON savings_goal (next_weekly_at)
    WHERE status = 'active' AND weekly_amount > 0;

ALTER TABLE money_transaction ADD COLUMN savings_goal_id bigint REFERENCES savings_goal (id);

-- One round-up per merchant payment, however often the worker sees it.
CREATE TABLE savings_round_up (
    payment_id     bigint PRIMARY KEY REFERENCES money_transaction (id),
    goal_id        bigint NOT NULL REFERENCES savings_goal (id),
    transaction_id bigint REFERENCES money_transaction (id),
    created_at     timestamptz NOT NULL DEFAULT now()
);
