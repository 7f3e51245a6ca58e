-- When the transaction PIN was set: the step-up policy accepts only second factors that
-- were on file before a session began for changing credentials (docs/security.md).
-- PINs set before this migration keep NULL, read as "long ago".
ALTER TABLE app_user ADD COLUMN pin_set_at timestamptz;
