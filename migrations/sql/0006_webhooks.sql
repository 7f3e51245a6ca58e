-- Webhooks: payment status changes are POSTed to the merchant's URL, signed, retried
-- with exponential backoff by the worker; every delivery is logged and can be replayed.

ALTER TABLE merchant
    ADD COLUMN webhook_url text CHECK (webhook_url ~ '^https?://'),
    ADD COLUMN webhook_secret text;

CREATE TABLE webhook_delivery (
    id               bigserial PRIMARY KEY,
    merchant_id      bigint NOT NULL REFERENCES merchant (id),
    event_type       text NOT NULL,
    payload          jsonb NOT NULL,
    url              text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz
);
CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_delivery_merchant_idx ON webhook_delivery (merchant_id, id);
