-- Settlement: per merchant and currency, the payments (less refunds) since the last
-- batch are paid out to the merchant's bank account, less the fee, which goes to revenue.

CREATE TABLE settlement_batch (
    id                    bigserial PRIMARY KEY,
    merchant_id           bigint NOT NULL REFERENCES merchant (id),
    currency              char(3) NOT NULL,
    period_start_txn      bigint NOT NULL,   -- lowest and highest transaction id counted
    period_end_txn        bigint NOT NULL,   -- (the sales carry settlement_batch_id)
    payments              integer NOT NULL,
    gross                 bigint NOT NULL,   -- payments less refunds in the period
    fee                   bigint NOT NULL CHECK (fee >= 0),
    -- Paid out: what the payable holds less the fee (a failed earlier payout's money
    -- stayed in the payable and is paid with this one).
    net                   bigint NOT NULL CHECK (net > 0),
    fee_transaction_id    bigint REFERENCES money_transaction (id),
    payout_transaction_id bigint NOT NULL REFERENCES money_transaction (id),
    created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX settlement_batch_merchant_idx ON settlement_batch (merchant_id, currency, id);

ALTER TABLE money_transaction ADD COLUMN settlement_batch_id bigint
    REFERENCES settlement_batch (id);
