-- Security review, findings 6 and 12 (docs/security.md, "Merchants").
--
-- KYB-lite: a merchant records a small business profile, and an operator approves it
-- before any settlement to a bank. Merchants opened before this had no checks at all,
-- so they start `pending` too: their payables keep the money until an operator looks.
ALTER TABLE merchant
    ADD COLUMN legal_name           text,
    ADD COLUMN registration_number  text,
    ADD COLUMN sole_trader          boolean NOT NULL DEFAULT false,
    ADD COLUMN business_address     text,
    ADD COLUMN website              text CHECK (website ~ '^https?://'),
    ADD COLUMN business_description text NOT NULL DEFAULT '',
    ADD COLUMN approval_status      text NOT NULL DEFAULT 'pending'
        CHECK (approval_status IN ('pending', 'approved', 'rejected')),
    ADD COLUMN approval_reason      text,
    ADD COLUMN approval_decided_by  bigint REFERENCES app_user (id),
    ADD COLUMN approval_decided_at  timestamptz,
    ADD CONSTRAINT merchant_decision_recorded
        CHECK (approval_status = 'pending' OR (approval_reason IS NOT NULL
                                               AND approval_decided_at IS NOT NULL));
CREATE INDEX merchant_pending_approval_idx ON merchant (id) WHERE approval_status = 'pending';

-- Unguessable payment request references: 20 characters of Crockford's base32 (100
-- random bits, URL-safe, no I/L/O/U to misread). gen_random_uuid() draws on the
-- server's strong random source; byte 6 of each UUID (its version nibble) is skipped,
-- since its low five bits are not all random.
CREATE FUNCTION payment_request_reference() RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT string_agg(
               substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', (get_byte(r.bytes, i) & 31) + 1, 1),
               '' ORDER BY i)
    FROM (SELECT decode(replace(gen_random_uuid()::text, '-', '')
                        || replace(gen_random_uuid()::text, '-', ''), 'hex') AS bytes) r,
         unnest(ARRAY[0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]) i
$$;

-- Existing rows (their QR codes carried "R<id>") get new random references: the old
-- sequential ones stop working, which is the point.
ALTER TABLE payment_request ADD COLUMN reference text;
UPDATE payment_request SET reference = payment_request_reference();
ALTER TABLE payment_request
    ALTER COLUMN reference SET NOT NULL,
    ALTER COLUMN reference SET DEFAULT payment_request_reference(),
    ADD CONSTRAINT payment_request_reference_key UNIQUE (reference),
    ADD CONSTRAINT payment_request_reference_format CHECK (reference ~ '^[0-9A-HJKMNP-TV-Z]{20}$');
