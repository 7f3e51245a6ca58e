"""Piccolo tables of kyc (the schema is migrations/sql/; this mirrors it for queries)."""

from piccolo.columns import Array, BigSerial, Char, Integer, Text, Timestamptz
from piccolo.table import Table

from wallet.db.engine import DB
from wallet.db.tables import from_database, references


class KycProfile(Table, tablename="kyc_profile", db=DB):
    user_id = references("AppUser", "wallet.users.tables", primary_key=True)
    legal_name = Text(default=None)
    date_of_birth = Text(default=None)
    address = Text(default=None)
    country = Char(length=2, default=None)
    document_type = Text(null=True, default=None)
    document_number = Text(null=True, default=None)
    updated_at = from_database(Timestamptz())


class KycReview(Table, tablename="kyc_review", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    requested_level = Text(default=None)
    status = from_database(Text())
    provider_outcome = Text(default=None)
    provider_reasons = from_database(Array(base_column=Text()))
    granted_level = Text(null=True, default=None)
    reason = Text(null=True, default=None)
    decided_by = references("AppUser", "wallet.users.tables", null=True)
    created_at = from_database(Timestamptz())
    decided_at = Timestamptz(null=True, default=None)


class KycDocument(Table, tablename="kyc_document", db=DB):
    id = BigSerial(primary_key=True)
    user_id = references("AppUser", "wallet.users.tables")
    review_id = references("KycReview", "wallet.kyc.tables")
    kind = Text(default=None)
    content_type = Text(default=None)
    size_bytes = Integer(default=None)
    sha256 = Text(default=None)
    content = Text(default=None)
    uploaded_at = from_database(Timestamptz())
