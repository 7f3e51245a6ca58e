-- When an account was closed: verification records are kept for the AML retention
-- period after that, then purged by the worker (docs/security.md, "Privacy").
ALTER TABLE app_user ADD COLUMN closed_at timestamptz;
-- Accounts closed before this column existed start their retention period now.
UPDATE app_user SET closed_at = now() WHERE status = 'closed' AND closed_at IS NULL;
