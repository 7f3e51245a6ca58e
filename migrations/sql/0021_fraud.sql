-- Fraud rules (as data), the blocklist, the last place each user was seen, and the
-- decisions and review queue of payments the rules held or blocked.

CREATE TABLE fraud_rule (
    code         text PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('velocity_count', 'velocity_amount',
                     'new_device_amount', 'unusual_amount', 'new_recipient', 'geo_jump',
                     'blocklist')),
    params       jsonb NOT NULL DEFAULT '{}',
    score        integer NOT NULL CHECK (score BETWEEN 0 AND 1000),
    enabled      boolean NOT NULL DEFAULT true,
    description  text NOT NULL
);

INSERT INTO fraud_rule (code, kind, params, score, description) VALUES
  ('velocity_count', 'velocity_count', '{"window_seconds": 600, "max_count": 5}', 30,
   'More than 5 sends in 10 minutes'),
  ('velocity_amount', 'velocity_amount', '{"window_seconds": 3600, "max_usd": 3000}', 40,
   'More than $3,000 sent in an hour'),
  ('new_device_amount', 'new_device_amount', '{"device_age_seconds": 86400, "min_usd": 300}', 50,
   '$300 or more from a device first used in the last day (not the first device)'),
  ('unusual_amount', 'unusual_amount',
   '{"days": 90, "multiple": 5, "min_history": 3, "min_usd": 200}', 30,
   'Five times the user''s average send, and $200 or more'),
  ('new_recipient', 'new_recipient', '{"min_usd": 800}', 20,
   '$800 or more to someone never paid before'),
  ('geo_jump', 'geo_jump', '{"max_kmh": 900, "min_km": 100}', 60,
   'Seen too far from the last place, too soon (faster than a plane)'),
  ('blocklist', 'blocklist', '{}', 100,
   'Recipient, device or IP address on the blocklist');

CREATE TABLE fraud_blocklist (
    kind        text NOT NULL CHECK (kind IN ('user', 'email', 'phone', 'device', 'ip')),
    value       text NOT NULL,
    reason      text NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, value)
);

CREATE TABLE risk_location (
    user_id   bigint PRIMARY KEY REFERENCES app_user (id),
    latitude  double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    seen_at   timestamptz NOT NULL
);

CREATE TABLE fraud_review (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES app_user (id),
    transaction_id  bigint UNIQUE REFERENCES money_transaction (id),
    decision        text NOT NULL CHECK (decision IN ('hold', 'block')),
    score           integer NOT NULL,
    hits            jsonb NOT NULL,
    amount          bigint NOT NULL,
    currency        char(3) NOT NULL,
    status          text NOT NULL CHECK (status IN ('open', 'approved', 'rejected', 'blocked',
                        'expired')),
    decided_by      bigint REFERENCES app_user (id),
    note            text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz,
    CHECK ((decision = 'hold') = (transaction_id IS NOT NULL))
);
CREATE INDEX fraud_review_open ON fraud_review (created_at) WHERE status = 'open';
CREATE INDEX fraud_review_user ON fraud_review (user_id, created_at);
