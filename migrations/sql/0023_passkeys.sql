-- Passkeys (WebAuthn credentials): a login factor and a step-up method.
CREATE TABLE user_passkey (
    id             bigserial PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES app_user (id),
    credential_id  bytea NOT NULL UNIQUE,
    public_key     bytea NOT NULL,
    sign_count     bigint NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
    transports     text[] NOT NULL DEFAULT '{}',
    label          text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz
);
CREATE INDEX user_passkey_user ON user_passkey (user_id);
