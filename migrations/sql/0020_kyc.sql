-- KYC: what a user proved about themselves (PII encrypted by the application with
-- AES-256-GCM, see docs/security.md), their documents, and the reviews that set their
-- verification level.

CREATE TABLE kyc_profile (
    user_id          bigint PRIMARY KEY REFERENCES app_user (id),
    legal_name       text NOT NULL,  -- encrypted
    date_of_birth    text NOT NULL,  -- encrypted
    address          text NOT NULL,  -- encrypted
    country          char(2) NOT NULL,
    document_type    text CHECK (document_type IN ('passport', 'id_card', 'driving_licence')),
    document_number  text,           -- encrypted
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kyc_review (
    id               bigserial PRIMARY KEY,
    user_id          bigint NOT NULL REFERENCES app_user (id),
    requested_level  text NOT NULL CHECK (requested_level IN ('basic', 'full')),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'approved', 'rejected', 'more_info')),
    provider_outcome text NOT NULL CHECK (provider_outcome IN ('clear', 'refer', 'reject')),
    provider_reasons text[] NOT NULL DEFAULT '{}',
    granted_level    text CHECK (granted_level IN ('basic', 'full', 'premium')),
    reason           text,
    decided_by       bigint REFERENCES app_user (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    decided_at       timestamptz,
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK (status <> 'approved' OR granted_level IS NOT NULL),
    CHECK (status NOT IN ('rejected', 'more_info') OR reason IS NOT NULL)
);
-- One review waiting per user at a time.
CREATE UNIQUE INDEX kyc_review_one_pending ON kyc_review (user_id) WHERE status = 'pending';
CREATE INDEX kyc_review_queue ON kyc_review (created_at) WHERE status = 'pending';

CREATE TABLE kyc_document (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES app_user (id),
    review_id     bigint NOT NULL REFERENCES kyc_review (id),
    kind          text NOT NULL CHECK (kind IN ('id_document', 'selfie')),
    content_type  text NOT NULL,
    size_bytes    integer NOT NULL CHECK (size_bytes > 0),
    sha256        text NOT NULL,
    content       text NOT NULL,  -- encrypted base64 of the file
    uploaded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kyc_document_review ON kyc_document (review_id);
