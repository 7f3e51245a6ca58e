-- Devices bound by a key pair (docs/security.md, "Devices"): the public key a device
-- proved holding, and when the device became trusted (a second factor proven from it,
-- or the account's first device). Devices recorded before this were known by their
-- user agent only, which anyone can copy: they start untrusted.
ALTER TABLE user_device
    ADD COLUMN public_key bytea,
    ADD COLUMN trusted_at timestamptz;
