-- Buyer protection. A marketplace merchant's sales wait in escrow (PENDING) until the
-- buyer confirms delivery or the window ends; a buyer can open a dispute, which moves the
-- money to a dispute hold until a mediator decides: refund (all or part) or release.

ALTER TABLE merchant ADD COLUMN marketplace boolean NOT NULL DEFAULT false;
ALTER TABLE money_transaction ADD COLUMN escrow_release_at timestamptz;
CREATE INDEX money_transaction_escrow_idx ON money_transaction (escrow_release_at)
    WHERE escrow_release_at IS NOT NULL AND status = 'pending';

INSERT INTO ledger_account (code, owner_type, currency, purpose, account_type, normal_side, hot)
SELECT 'system:' || c || ':' || p, 'system', c, p, 'liability', 'C', true
FROM unnest(ARRAY['USD', 'EUR', 'GBP', 'JPY', 'INR', 'BRL']) AS c
CROSS JOIN unnest(ARRAY['buyer_protection_escrow', 'dispute_hold']) AS p;

CREATE TABLE dispute (
    id              bigserial PRIMARY KEY,
    payment_id      bigint NOT NULL UNIQUE REFERENCES money_transaction (id),
    merchant_id     bigint NOT NULL REFERENCES merchant (id),
    buyer_id        bigint NOT NULL REFERENCES app_user (id),
    currency        char(3) NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    reason          text NOT NULL,
    status          text NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'responded', 'refunded', 'released')),
    merchant_response text,
    refund_amount   bigint CHECK (refund_amount >= 0 AND refund_amount <= amount),
    decided_by      bigint REFERENCES app_user (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz
);

CREATE TABLE dispute_evidence (
    id         bigserial PRIMARY KEY,
    dispute_id bigint NOT NULL REFERENCES dispute (id),
    filename   text NOT NULL,
    content    bytea NOT NULL,
    sha256     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Every step of a dispute, append-only.
CREATE TABLE dispute_event (
    id         bigserial PRIMARY KEY,
    dispute_id bigint NOT NULL REFERENCES dispute (id),
    actor_id   bigint REFERENCES app_user (id),
    action     text NOT NULL,
    detail     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER dispute_event_immutable BEFORE UPDATE OR DELETE ON dispute_event
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
