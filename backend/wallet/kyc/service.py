"""Verification levels, step by step (docs/security.md, "KYC and limits").

- unverified: everyone at sign-up.
- basic: legal name, date of birth, address and country, checked by the identity
  provider. A clear result grants it at once; `refer` waits for an operator; `reject`
  says why and the user may correct and resubmit.
- full: an identity document and a selfie, on top of basic. The provider checks the
  document; unless it rejects, an operator always looks (compliance or admin) and
  approves (full, or premium), rejects with a reason, or asks for more.
- premium: granted by an operator approving a full review.

An identity is screened against the sanctions list as it is submitted: a possible
match waits for an operator instead of being granted. No approval goes through while
the person has a possible sanctions match a compliance officer has not cleared
(`wallet.aml.cases`); what the person is told never mentions it.

Personal details, the document number and the files are encrypted at rest with the
field keyring (AES-256-GCM, the row's user and field as associated data).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from wallet.aml import cases as aml_cases
from wallet.aml import monitor as aml_monitor
from wallet.aml.tipping_off import reveals_aml
from wallet.db.engine import Connection, connection, transaction
from wallet.kyc.identity import (
    CheckOutcome,
    DocumentDetails,
    IdentityCheck,
    IdentityProvider,
    PersonDetails,
)
from wallet.outbox.service import Topic, emit
from wallet.security.keys import keyring

MAX_FILE_BYTES = 5 * 1024 * 1024
DOCUMENT_TYPES = ("passport", "id_card", "driving_licence")
# What each file may be, told by its first bytes (the declared type must agree).
_MAGIC = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "application/pdf": b"%PDF-",
}
_ALLOWED_TYPES = {
    "id_document": frozenset(_MAGIC),
    "selfie": frozenset({"image/jpeg", "image/png"}),
}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9-]{5,20}$")
MINIMUM_AGE = 18


class KycError(Exception):
    pass


class InvalidKycDetails(KycError):
    def __init__(self, field_name: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.code = code


class ReviewPending(KycError):
    def __init__(self) -> None:
        super().__init__("Your details are being reviewed; we will tell you when it is done")


class WrongLevel(KycError):
    """The step does not fit the user's level (documents before basic, basic twice...)."""


class ReviewNotFound(KycError):
    def __init__(self) -> None:
        super().__init__("No such review waiting")


class SanctionsMatchOpen(KycError):
    """Approval waits: the person has a possible sanctions match not cleared. For the
    operator only; the person's review simply stays pending."""

    def __init__(self, case_id: int) -> None:
        super().__init__(
            f"A possible sanctions match (AML case #{case_id}) is open for this person: "
            "a compliance officer must clear it, saying why, before approval. You can "
            "still reject or ask for more."
        )
        self.case_id = case_id


class Decision(Enum):
    APPROVE = "approve"
    REJECT = "reject"
    MORE_INFO = "more_info"


@dataclass(frozen=True, slots=True)
class UploadedFile:
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Review:
    id: int
    user_id: int
    requested_level: str
    status: str
    provider_outcome: str
    provider_reasons: list[str]
    granted_level: str | None
    reason: str | None
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class KycStatus:
    level: str
    latest_review: Review | None


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: int
    kind: str
    content_type: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class ReviewCase:
    """A review as an operator sees it, personal details decrypted."""

    review: Review
    username: str
    level: str
    legal_name: str
    date_of_birth: str
    address: str
    country: str
    document_type: str | None
    document_number: str | None
    documents: list[StoredDocument] = field(default_factory=list)


def _context(user_id: int, name: str) -> str:
    return f"kyc:{user_id}:{name}"


def _seal(user_id: int, name: str, value: str) -> str:
    return keyring().encrypt(value, _context(user_id, name))


def _open(user_id: int, name: str, value: str) -> str:
    return keyring().decrypt(value, _context(user_id, name))


def validate_person(person: PersonDetails, today: date) -> PersonDetails:
    name = " ".join(person.legal_name.split())
    if not 2 <= len(name) <= 200 or not any(c.isalpha() for c in name):
        raise InvalidKycDetails("legalName", "INVALID", "Enter your full legal name")
    born = person.date_of_birth
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if born > today or age > 120:
        raise InvalidKycDetails("dateOfBirth", "INVALID", "Enter your real date of birth")
    if age < MINIMUM_AGE:
        raise InvalidKycDetails("dateOfBirth", "TOO_YOUNG", f"You must be {MINIMUM_AGE} or over")
    address = " ".join(person.address.split())
    if not 5 <= len(address) <= 500:
        raise InvalidKycDetails("address", "INVALID", "Enter your home address")
    country = person.country.strip().upper()
    if not _COUNTRY.match(country):
        raise InvalidKycDetails("country", "INVALID", "Use the two-letter country code")
    return PersonDetails(name, born, address, country)


def validate_file(kind: str, upload: UploadedFile, field_name: str) -> None:
    if upload.content_type not in _ALLOWED_TYPES[kind]:
        allowed = ", ".join(sorted(_ALLOWED_TYPES[kind]))
        raise InvalidKycDetails(field_name, "UNSUPPORTED_TYPE", f"Upload one of: {allowed}")
    if not upload.content:
        raise InvalidKycDetails(field_name, "EMPTY", "The file is empty")
    if len(upload.content) > MAX_FILE_BYTES:
        raise InvalidKycDetails(field_name, "TOO_LARGE", "Files may be up to 5 MB")
    if not upload.content.startswith(_MAGIC[upload.content_type]):
        raise InvalidKycDetails(
            field_name, "UNSUPPORTED_TYPE", f"The file is not a real {upload.content_type}"
        )


def _review(row: Any) -> Review:
    return Review(
        id=int(row["id"]),
        user_id=int(row["user_id"]),
        requested_level=row["requested_level"],
        status=row["status"],
        provider_outcome=row["provider_outcome"],
        provider_reasons=list(row["provider_reasons"]),
        granted_level=row["granted_level"],
        reason=row["reason"],
        created_at=row["created_at"],
        decided_at=row["decided_at"],
    )


async def _lock_user(conn: Connection, user_id: int) -> str:
    """Lock the user's row (one KYC step at a time) and return their level. NO KEY
    UPDATE, as `wallet.aml.cases.lock_person`: a screening hit then freezes the wallet,
    and a transfer holding that wallet must still be able to reference the user."""
    level = await conn.fetchval(
        "SELECT verification_level FROM app_user WHERE id = $1 FOR NO KEY UPDATE", user_id
    )
    if await conn.fetchval(
        "SELECT 1 FROM kyc_review WHERE user_id = $1 AND status = 'pending'", user_id
    ):
        raise ReviewPending()
    return str(level)


async def _open_review(
    conn: Connection, user_id: int, requested: str, check: IdentityCheck, *, manual: bool
) -> Review:
    """Record the provider's result: a clear result is approved at once unless `manual`;
    a rejection is final for this attempt; otherwise an operator decides."""
    if check.outcome is CheckOutcome.REJECT:
        status, granted, reason = "rejected", None, "; ".join(check.reasons)
    elif check.outcome is CheckOutcome.CLEAR and not manual:
        status, granted, reason = "approved", requested, None
    else:
        status, granted, reason = "pending", None, None
    row = await conn.fetchrow(
        "INSERT INTO kyc_review (user_id, requested_level, status, provider_outcome, "
        "provider_reasons, granted_level, reason, decided_at) VALUES ($1, $2, $3, $4, $5, $6, "
        "$7, CASE WHEN $3 = 'pending' THEN NULL ELSE now() END) RETURNING *",
        user_id,
        requested,
        status,
        check.outcome.value,
        check.reasons,
        granted,
        reason,
    )
    review = _review(row)
    await _settle(conn, review)
    return review


async def _settle(conn: Connection, review: Review) -> None:
    """Apply a decided review: raise the level, and tell the user."""
    if review.status == "pending":
        return
    if review.status == "approved":
        await conn.execute(
            "UPDATE app_user SET verification_level = $2 WHERE id = $1",
            review.user_id,
            review.granted_level,
        )
    title, body = {
        "approved": (
            "You are verified",
            f"Your account is now {review.granted_level}: higher limits apply.",
        ),
        "rejected": ("We could not verify you", f"{review.reason}. You can try again."),
        "more_info": ("We need a little more", f"{review.reason}."),
    }[review.status]
    await emit(
        conn,
        Topic.NOTICE,
        {
            "user_id": review.user_id,
            "kind": "kyc",
            "title": title,
            "body": body,
            "dedupe_key": f"kyc:{review.id}:{review.status}",
        },
    )


async def submit_identity(
    user_id: int, person: PersonDetails, provider: IdentityProvider, today: date
) -> KycStatus:
    """Basic verification: store the details (encrypted) and check them."""
    person = validate_person(person, today)
    async with transaction() as conn:
        if await _lock_user(conn, user_id) != "unverified":
            raise WrongLevel("You are already verified; contact support to change details")
        await conn.execute(
            "INSERT INTO kyc_profile (user_id, legal_name, date_of_birth, address, country) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET "
            "legal_name = $2, date_of_birth = $3, address = $4, country = $5, updated_at = now()",
            user_id,
            _seal(user_id, "legal_name", person.legal_name),
            _seal(user_id, "date_of_birth", person.date_of_birth.isoformat()),
            _seal(user_id, "address", person.address),
            person.country,
        )
        match = await aml_monitor.screen_person(conn, user_id)
        await _open_review(
            conn,
            user_id,
            "basic",
            await provider.check_person(person),
            manual=match is not None,
        )
    return await status(user_id)


async def submit_documents(
    user_id: int,
    document: DocumentDetails,
    id_document: UploadedFile,
    selfie: UploadedFile,
    provider: IdentityProvider,
) -> KycStatus:
    """Full verification: an identity document and a selfie, for an operator to review."""
    if document.document_type not in DOCUMENT_TYPES:
        raise InvalidKycDetails("documentType", "INVALID", "Choose the kind of document")
    number = document.document_number.strip().upper().replace(" ", "")
    if not _DOCUMENT_NUMBER.match(number):
        raise InvalidKycDetails("documentNumber", "INVALID", "Enter the number on the document")
    validate_file("id_document", id_document, "document")
    validate_file("selfie", selfie, "selfie")
    async with transaction() as conn:
        level = await _lock_user(conn, user_id)
        if level == "unverified":
            raise WrongLevel("Verify your name, date of birth and address first")
        if level != "basic":
            raise WrongLevel("Your identity is already fully verified")
        country = await conn.fetchval("SELECT country FROM kyc_profile WHERE user_id = $1", user_id)
        details = DocumentDetails(document.document_type, number, country)
        await conn.execute(
            "UPDATE kyc_profile SET document_type = $2, document_number = $3, updated_at = now() "
            "WHERE user_id = $1",
            user_id,
            document.document_type,
            _seal(user_id, "document_number", number),
        )
        review = await _open_review(
            conn, user_id, "full", await provider.check_document(details), manual=True
        )
        for kind, upload in (("id_document", id_document), ("selfie", selfie)):
            await _store_file(conn, user_id, review.id, kind, upload)
    return await status(user_id)


async def _store_file(
    conn: Connection, user_id: int, review_id: int, kind: str, upload: UploadedFile
) -> None:
    encoded = base64.b64encode(upload.content).decode()
    await conn.execute(
        "INSERT INTO kyc_document (user_id, review_id, kind, content_type, size_bytes, sha256, "
        "content) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        user_id,
        review_id,
        kind,
        upload.content_type,
        len(upload.content),
        hashlib.sha256(upload.content).hexdigest(),
        _seal(user_id, f"document:{review_id}:{kind}", encoded),
    )


async def status(user_id: int) -> KycStatus:
    async with connection() as conn:
        level = await conn.fetchval(
            "SELECT verification_level FROM app_user WHERE id = $1", user_id
        )
        row = await conn.fetchrow(
            "SELECT * FROM kyc_review WHERE user_id = $1 ORDER BY id DESC LIMIT 1", user_id
        )
    return KycStatus(str(level), None if row is None else _review(row))


async def personal_data(user_id: int) -> dict[str, Any]:
    """What verification holds about the user, decrypted, for their data export: the
    details, each review and each file's metadata (not the files)."""
    async with connection() as conn:
        profile = await conn.fetchrow("SELECT * FROM kyc_profile WHERE user_id = $1", user_id)
        reviews = await conn.fetch(
            "SELECT id, requested_level, status, granted_level, reason, created_at, decided_at "
            "FROM kyc_review WHERE user_id = $1 ORDER BY id",
            user_id,
        )
        documents = await conn.fetch(
            "SELECT review_id, kind, content_type, size_bytes, sha256, uploaded_at "
            "FROM kyc_document WHERE user_id = $1 ORDER BY id",
            user_id,
        )
    details = None
    if profile is not None:
        number = profile["document_number"]
        details = {
            "legal_name": _open(user_id, "legal_name", profile["legal_name"]),
            "date_of_birth": _open(user_id, "date_of_birth", profile["date_of_birth"]),
            "address": _open(user_id, "address", profile["address"]),
            "country": profile["country"],
            "document_type": profile["document_type"],
            "document_number": _open(user_id, "document_number", number) if number else None,
            "updated_at": profile["updated_at"],
        }
    return {
        "details": details,
        "reviews": [dict(r) for r in reviews],
        "documents": [dict(d) for d in documents],
    }


async def purge_closed_accounts(now: datetime, retention: timedelta) -> int:
    """Delete the verification details and files of accounts closed more than
    `retention` ago (the AML record-keeping period is over). The reviews stay: who
    decided what and when, without the personal data. Return how many were purged."""
    async with transaction() as conn:
        rows = await conn.fetch(
            "SELECT id FROM app_user WHERE status = 'closed' AND closed_at < $1 "
            "AND (EXISTS (SELECT 1 FROM kyc_profile p WHERE p.user_id = app_user.id) "
            "OR EXISTS (SELECT 1 FROM kyc_document d WHERE d.user_id = app_user.id))",
            now - retention,
        )
        ids = [int(r["id"]) for r in rows]
        await conn.execute("DELETE FROM kyc_document WHERE user_id = ANY($1::bigint[])", ids)
        await conn.execute("DELETE FROM kyc_profile WHERE user_id = ANY($1::bigint[])", ids)
    return len(ids)


def _mask(number: str) -> str:
    return "•" * max(len(number) - 4, 0) + number[-4:]


async def review_queue(first: int = 50) -> list[ReviewCase]:
    """Reviews waiting for an operator, oldest first, details decrypted."""
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT r.*, u.username, u.verification_level, p.legal_name AS p_name, "
            "p.date_of_birth AS p_dob, p.address AS p_address, p.country AS p_country, "
            "p.document_type AS p_document_type, p.document_number AS p_document_number "
            "FROM kyc_review r JOIN app_user u ON u.id = r.user_id "
            "JOIN kyc_profile p ON p.user_id = r.user_id "
            "WHERE r.status = 'pending' ORDER BY r.created_at, r.id LIMIT $1",
            first,
        )
        documents = await conn.fetch(
            "SELECT id, review_id, kind, content_type, size_bytes FROM kyc_document "
            "WHERE review_id = ANY($1::bigint[]) ORDER BY id",
            [r["id"] for r in rows],
        )
    by_review: dict[int, list[StoredDocument]] = {}
    for d in documents:
        by_review.setdefault(int(d["review_id"]), []).append(
            StoredDocument(int(d["id"]), d["kind"], d["content_type"], int(d["size_bytes"]))
        )
    cases = []
    for r in rows:
        uid = int(r["user_id"])
        number = r["p_document_number"]
        masked = None if number is None else _mask(_open(uid, "document_number", number))
        cases.append(
            ReviewCase(
                review=_review(r),
                username=r["username"],
                level=r["verification_level"],
                legal_name=_open(uid, "legal_name", r["p_name"]),
                date_of_birth=_open(uid, "date_of_birth", r["p_dob"]),
                address=_open(uid, "address", r["p_address"]),
                country=r["p_country"],
                document_type=r["p_document_type"],
                document_number=masked,
                documents=by_review.get(int(r["id"]), []),
            )
        )
    return cases


async def document_content(document_id: int) -> UploadedFile | None:
    """A stored document, decrypted (for the reviewing operator)."""
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT user_id, review_id, kind, content_type, content FROM kyc_document "
            "WHERE id = $1",
            document_id,
        )
    if row is None:
        return None
    encoded = _open(
        int(row["user_id"]), f"document:{row['review_id']}:{row['kind']}", row["content"]
    )
    return UploadedFile(row["content_type"], base64.b64decode(encoded))


async def decide(
    review_id: int,
    operator_id: int,
    decision: Decision,
    reason: str | None = None,
    level: str | None = None,
) -> Review:
    """An operator's decision on a waiting review; the user is told either way."""
    reason = (reason or "").strip() or None
    if decision is not Decision.APPROVE and reason is None:
        raise InvalidKycDetails("reason", "REQUIRED", "Say why, for the user")
    if reason is not None and reveals_aml(reason):
        raise InvalidKycDetails(
            "reason",
            "TIPPING_OFF",
            "The customer reads this reason: it must not mention AML, sanctions, reports "
            "or investigations",
        )
    async with transaction() as conn:
        row = await conn.fetchrow(
            "SELECT * FROM kyc_review WHERE id = $1 AND status = 'pending' FOR UPDATE", review_id
        )
        if row is None:
            raise ReviewNotFound()
        requested = row["requested_level"]
        granted = None
        if decision is Decision.APPROVE:
            granted = level or requested
            allowed = ("basic",) if requested == "basic" else ("full", "premium")
            if granted not in allowed:
                raise InvalidKycDetails("level", "INVALID", f"Grant one of: {', '.join(allowed)}")
            # Locked as a screening hit locks it: the check sees a case opened before.
            await aml_cases.lock_person(conn, int(row["user_id"]))
            match = await aml_cases.open_sanctions_case(conn, int(row["user_id"]))
            if match is not None:
                raise SanctionsMatchOpen(match)
        status_after = {
            Decision.APPROVE: "approved",
            Decision.REJECT: "rejected",
            Decision.MORE_INFO: "more_info",
        }[decision]
        decided = await conn.fetchrow(
            "UPDATE kyc_review SET status = $2, granted_level = $3, reason = $4, "
            "decided_by = $5, decided_at = now() WHERE id = $1 RETURNING *",
            review_id,
            status_after,
            granted,
            reason,
            operator_id,
        )
        review = _review(decided)
        await _settle(conn, review)
    return review
