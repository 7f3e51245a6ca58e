-- Multi-currency: currency balances that open and close, FX quotes and conversions.
--
-- A conversion is one journal entry with a leg per currency, each balanced on its own
-- through the FX position account of that currency (the "trading account" method):
--   sell leg: debit the wallet S = credit fee revenue F + credit fx_position N
--   buy leg:  debit fx_position P = credit the receiving wallet B
--                                 + credit fx_spread_revenue G + credit fx_rounding R
-- (docs/fx.md has the arithmetic and its rounding rules.)

INSERT INTO ledger_account (code, owner_type, currency, purpose, account_type, normal_side, hot)
SELECT 'system:' || c || ':' || p.purpose, 'system', c, p.purpose, p.account_type, p.normal_side,
       true
FROM unnest(ARRAY['USD', 'EUR', 'GBP', 'JPY', 'INR', 'BRL']) AS c
CROSS JOIN (VALUES
    ('fx_position', 'equity', 'C'),
    ('fx_spread_revenue', 'revenue', 'C'),
    ('fx_rounding', 'revenue', 'C')
) AS p (purpose, account_type, normal_side)
ON CONFLICT (code) DO NOTHING;

-- A closed account holds nothing: it may close only at zero, with nothing pending.
ALTER TABLE ledger_account ADD CONSTRAINT ledger_account_closed_empty CHECK (
    status <> 'closed'
    OR (posted_debits = posted_credits AND pending_debits = 0 AND pending_credits = 0)
);

-- A quote is the exact terms offered; converting executes those amounts, once.
CREATE TABLE fx_quote (
    id               text PRIMARY KEY,
    user_id          bigint NOT NULL REFERENCES app_user (id),
    sell_currency    char(3) NOT NULL,
    buy_currency     char(3) NOT NULL CHECK (buy_currency <> sell_currency),
    fixed_side       text NOT NULL CHECK (fixed_side IN ('sell', 'buy')),
    sell_amount      bigint NOT NULL CHECK (sell_amount > 0),
    fee_amount       bigint NOT NULL CHECK (fee_amount >= 0 AND fee_amount < sell_amount),
    buy_amount       bigint NOT NULL CHECK (buy_amount > 0),
    position_amount  bigint NOT NULL,
    spread_amount    bigint NOT NULL CHECK (spread_amount >= 0),
    rounding_amount  bigint NOT NULL CHECK (rounding_amount >= 0),
    mid_rate         numeric(30, 12) NOT NULL CHECK (mid_rate > 0),
    customer_rate    numeric(30, 12) NOT NULL CHECK (customer_rate > 0),
    spread_bps       integer NOT NULL CHECK (spread_bps >= 0),
    fee_bps          integer NOT NULL CHECK (fee_bps >= 0),
    rates_as_of      timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    transaction_id   bigint UNIQUE REFERENCES money_transaction (id),
    CHECK (position_amount = buy_amount + spread_amount + rounding_amount)
);
CREATE INDEX fx_quote_created_idx ON fx_quote (created_at) WHERE transaction_id IS NULL;

-- The other side of a cross-currency movement (what was bought / what arrived).
ALTER TABLE money_transaction
    ADD COLUMN counter_currency char(3),
    ADD COLUMN counter_amount bigint CHECK (counter_amount > 0),
    ADD CONSTRAINT money_transaction_counter_both
        CHECK ((counter_currency IS NULL) = (counter_amount IS NULL));
