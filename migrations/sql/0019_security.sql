-- Security: the append-only, hash-chained audit log; TOTP second factors with
-- recovery codes; devices bound to logins.

-- Every security- and money-relevant action: who, what, when, from where. Rows are
-- written in the action's own transaction without a hash; the sealer (worker) gives
-- them, in the order it finds them, a sequence number and a hash chained to the
-- previous row's: hash = sha256(prev_hash || canonical text of the row). Changing or
-- deleting a sealed row breaks the chain (`wallet audit verify`).
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_type  text NOT NULL CHECK (actor_type IN ('user', 'operator', 'merchant_key',
                                                     'system', 'anonymous')),
    actor_id    bigint,
    action      text NOT NULL,
    outcome     text NOT NULL,
    subject     text,
    ip          text,
    user_agent  text,
    details     jsonb NOT NULL DEFAULT '{}',
    seq         bigint UNIQUE,
    prev_hash   bytea,
    hash        bytea,
    CHECK ((seq IS NULL) = (hash IS NULL))
);
CREATE INDEX audit_log_unsealed_idx ON audit_log (id) WHERE seq IS NULL;
CREATE INDEX audit_log_actor_idx ON audit_log (actor_type, actor_id, id);

-- Append-only: a row may only be sealed (once); anything else is refused.
CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_log is append-only';
    END IF;
    IF OLD.seq IS NOT NULL OR NEW.seq IS NULL
       OR (OLD.at, OLD.actor_type, OLD.actor_id, OLD.action, OLD.outcome, OLD.subject,
           OLD.ip, OLD.user_agent, OLD.details)
          IS DISTINCT FROM
          (NEW.at, NEW.actor_type, NEW.actor_id, NEW.action, NEW.outcome, NEW.subject,
           NEW.ip, NEW.user_agent, NEW.details) THEN
        RAISE EXCEPTION 'audit_log rows cannot be changed';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_guard();

-- TOTP (RFC 6238). The secret is encrypted at rest (AES-GCM, wallet.security.crypto).
-- last_step is the newest time step accepted, so a code cannot be used twice.
CREATE TABLE user_totp (
    user_id      bigint PRIMARY KEY REFERENCES app_user (id),
    secret       text NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE recovery_code (
    user_id   bigint NOT NULL REFERENCES app_user (id),
    code_hash text NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- A device a user logged in from: a device key from the mobile app, or the browser's
-- user agent. A login from a device not seen before alerts the user.
CREATE TABLE user_device (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES app_user (id),
    fingerprint  text NOT NULL,
    label        text NOT NULL,
    first_seen   timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now(),
    last_ip      text,
    UNIQUE (user_id, fingerprint)
);
