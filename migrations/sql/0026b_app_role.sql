-- Issue 14, finding 5: the API and the worker connect as `wallet_app`, a role that owns
-- nothing and is not a superuser; migrations run as the owner of the schema. Per table
-- the role gets what the code does there and no more (docs/security.md, "Database roles").
--
-- Roles are cluster-wide: several databases (test runs) may create it at once.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wallet_app') THEN
        CREATE ROLE wallet_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END $$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO wallet_app;

-- Read, add and change rows; never TRUNCATE, never REFERENCES or TRIGGER.
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO wallet_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO wallet_app;
-- DELETE only where the code deletes: erasure, purges, the hot-account roll-up, and
-- settings a user removes.
GRANT DELETE ON
    bill_reminder, budget, category_rule, fx_quote, idempotency_key, kyc_document,
    kyc_profile, ledger_account_delta, recovery_code, transaction_category,
    user_device, user_passkey, user_totp
TO wallet_app;

-- Append-only history: written, never changed.
REVOKE UPDATE ON
    journal_entry, posting, posting_snapshot, transaction_transition, dispute_event,
    gateway_event, audit_log
FROM wallet_app;
-- The sealer fills in the chain columns, once (the trigger refuses anything else).
GRANT UPDATE (seq, prev_hash, hash) ON audit_log TO wallet_app;

-- Piccolo's record of applied migrations belongs to the owner alone.
REVOKE ALL ON migration FROM wallet_app;
REVOKE ALL ON SEQUENCE migration_id_seq FROM wallet_app;

-- Tables and sequences that later migrations (run by this same owner) create. A new
-- append-only table revokes UPDATE and DELETE in its own migration.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO wallet_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO wallet_app;
