-- Referrals (issue 18, item 8; docs/rewards.md, "Referrals"): every user has a code to
-- share (the link /?ref=<code>); a newcomer joins with it at sign-up (or enters it
-- later, within the window); both are paid once the newcomer qualifies, unless they
-- share a device or a payment method with the one who invited them.

-- 10 characters of Crockford's base32 (50 random bits) from gen_random_uuid()'s random
-- bytes; byte 6 (the version nibble) is skipped. Typed in any case, with or without
-- dashes; shown as made.
CREATE FUNCTION referral_code() RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT string_agg(
               substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', (get_byte(r.bytes, i) & 31) + 1, 1),
               '' ORDER BY i)
    FROM (SELECT decode(replace(gen_random_uuid()::text, '-', ''), 'hex') AS bytes) r,
         unnest(ARRAY[0, 1, 2, 3, 4, 5, 7, 8, 9, 10]) i
$$;

ALTER TABLE app_user ADD COLUMN referral_code text;
UPDATE app_user SET referral_code = referral_code();
ALTER TABLE app_user
    ALTER COLUMN referral_code SET NOT NULL,
    ALTER COLUMN referral_code SET DEFAULT referral_code(),
    ADD CONSTRAINT app_user_referral_code_key UNIQUE (referral_code),
    ADD CONSTRAINT app_user_referral_code_format
        CHECK (referral_code ~ '^[0-9A-HJKMNP-TV-Z]{10}$');

-- One row per newcomer who joined with someone's code. `referral_bonus` (0017) stays the
-- record of a payment (its key makes it once); this is the referral's life:
-- pending -> paid | refused (a guard: `refusal` says which, for operators) | expired.
-- `app_user.referred_by` is kept in step for older readers.
CREATE TABLE referral (
    referred_user_id bigint PRIMARY KEY REFERENCES app_user (id),
    referrer_id      bigint NOT NULL REFERENCES app_user (id),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'paid', 'refused', 'expired')),
    refusal          text CHECK (refusal IN ('shared_device', 'shared_payment_method')),
    -- The newcomer's device when they joined (its key's fingerprint), kept here so that
    -- forgetting the device later does not hide it from the guard.
    joined_device    text,
    qualify_by       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    decided_at       timestamptz,
    CHECK (referrer_id <> referred_user_id),
    CHECK ((status = 'refused') = (refusal IS NOT NULL)),
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE INDEX referral_referrer_idx ON referral (referrer_id, created_at);

-- Referrals made before this table: those paid are paid; the others get the window from
-- now (nobody told them about one).
INSERT INTO referral (referred_user_id, referrer_id, status, qualify_by, created_at,
                      decided_at)
SELECT u.id, u.referred_by,
       CASE WHEN b.referred_user_id IS NULL THEN 'pending' ELSE 'paid' END,
       now() + interval '30 days', u.created_at, b.created_at
FROM app_user u LEFT JOIN referral_bonus b ON b.referred_user_id = u.id
WHERE u.referred_by IS NOT NULL AND u.referred_by <> u.id;

-- What the gateway calls the card or bank account itself (the same card linked twice,
-- or by two people, has one fingerprint): the referral guard compares them. Methods
-- linked before this have none.
ALTER TABLE payment_method ADD COLUMN fingerprint text;
CREATE INDEX payment_method_fingerprint_idx ON payment_method (fingerprint)
    WHERE fingerprint IS NOT NULL;
