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
from wallet.db.tables import database_now
from wallet.kyc import queries
from wallet.kyc.identity import (
    CheckOutcome,
    DocumentDetails,
    IdentityCheck,
    IdentityProvider,
    PersonDetails,
)
from wallet.kyc.tables import KycDocument, KycProfile, KycReview
from wallet.outbox.service import Topic, emit
from wallet.security.keys import keyring
from wallet.users.tables import AppUser

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
    user = (
        await AppUser.select(AppUser.verification_level)
        .where(AppUser.id == user_id)
        .lock_rows("NO KEY UPDATE")
        .first()
    )
    if await KycReview.exists().where(
        (KycReview.user_id == user_id) & (KycReview.status == "pending")
    ):
        raise ReviewPending()
    return str(None if user is None else user["verification_level"])


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
    [row] = await KycReview.insert(
        KycReview(
            user_id=user_id,
            requested_level=requested,
            status=status,
            provider_outcome=check.outcome.value,
            provider_reasons=list(check.reasons),
            granted_level=granted,
            reason=reason,
            decided_at=None if status == "pending" else database_now(),
        )
    ).returning(*KycReview.all_columns())
    review = _review(row)
    await _settle(conn, review)
    return review


async def _settle(conn: Connection, review: Review) -> None:
    """Apply a decided review: raise the level, and tell the user."""
    if review.status == "pending":
        return
    if review.status == "approved":
        await AppUser.update({AppUser.verification_level: review.granted_level}).where(
            AppUser.id == review.user_id
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
        await KycProfile.insert(
            KycProfile(
                user_id=user_id,
                legal_name=_seal(user_id, "legal_name", person.legal_name),
                date_of_birth=_seal(user_id, "date_of_birth", person.date_of_birth.isoformat()),
                address=_seal(user_id, "address", person.address),
                country=person.country,
                updated_at=database_now(),
            )
        ).on_conflict(
            target=KycProfile.user_id,
            action="DO UPDATE",
            values=[
                KycProfile.legal_name,
                KycProfile.date_of_birth,
                KycProfile.address,
                KycProfile.country,
                KycProfile.updated_at,
            ],
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
        profile = (
            await KycProfile.select(KycProfile.country).where(KycProfile.user_id == user_id).first()
        )
        country: Any = None if profile is None else profile["country"]
        details = DocumentDetails(document.document_type, number, country)
        await KycProfile.update(
            {
                KycProfile.document_type: document.document_type,
                KycProfile.document_number: _seal(user_id, "document_number", number),
                KycProfile.updated_at: database_now(),
            }
        ).where(KycProfile.user_id == user_id)
        review = await _open_review(
            conn, user_id, "full", await provider.check_document(details), manual=True
        )
        for kind, upload in (("id_document", id_document), ("selfie", selfie)):
            await _store_file(user_id, review.id, kind, upload)
    return await status(user_id)


async def _store_file(user_id: int, review_id: int, kind: str, upload: UploadedFile) -> None:
    encoded = base64.b64encode(upload.content).decode()
    await KycDocument.insert(
        KycDocument(
            user_id=user_id,
            review_id=review_id,
            kind=kind,
            content_type=upload.content_type,
            size_bytes=len(upload.content),
            sha256=hashlib.sha256(upload.content).hexdigest(),
            content=_seal(user_id, f"document:{review_id}:{kind}", encoded),
        )
    )


async def status(user_id: int) -> KycStatus:
    user = await AppUser.select(AppUser.verification_level).where(AppUser.id == user_id).first()
    row = (
        await KycReview.select()
        .where(KycReview.user_id == user_id)
        .order_by(KycReview.id, ascending=False)
        .first()
    )
    level = None if user is None else user["verification_level"]
    return KycStatus(str(level), None if row is None else _review(row))


async def personal_data(user_id: int) -> dict[str, Any]:
    """What verification holds about the user, decrypted, for their data export: the
    details, each review and each file's metadata (not the files)."""
    profile = await KycProfile.select().where(KycProfile.user_id == user_id).first()
    reviews = await (
        KycReview.select(
            KycReview.id,
            KycReview.requested_level,
            KycReview.status,
            KycReview.granted_level,
            KycReview.reason,
            KycReview.created_at,
            KycReview.decided_at,
        )
        .where(KycReview.user_id == user_id)
        .order_by(KycReview.id)
    )
    documents = await (
        KycDocument.select(
            KycDocument.review_id,
            KycDocument.kind,
            KycDocument.content_type,
            KycDocument.size_bytes,
            KycDocument.sha256,
            KycDocument.uploaded_at,
        )
        .where(KycDocument.user_id == user_id)
        .order_by(KycDocument.id)
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
    async with transaction():
        closed = AppUser.select(AppUser.id).where(
            (AppUser.status == "closed") & (AppUser.closed_at < now - retention)
        )
        holding = await closed.where(
            AppUser.id.is_in(KycProfile.select(KycProfile.user_id))
            | AppUser.id.is_in(KycDocument.select(KycDocument.user_id))
        )
        ids = [int(r["id"]) for r in holding]
        if ids:
            await KycDocument.delete().where(KycDocument.user_id.is_in(ids))
            await KycProfile.delete().where(KycProfile.user_id.is_in(ids))
    return len(ids)


def _mask(number: str) -> str:
    return "•" * max(len(number) - 4, 0) + number[-4:]


async def review_queue(first: int = 50) -> list[ReviewCase]:
    """Reviews waiting for an operator, oldest first, details decrypted."""
    async with connection() as conn:
        rows = await conn.fetch(queries.REVIEW_QUEUE, first)
    documents = []
    if rows:
        documents = await (
            KycDocument.select(
                KycDocument.id,
                KycDocument.review_id,
                KycDocument.kind,
                KycDocument.content_type,
                KycDocument.size_bytes,
            )
            .where(KycDocument.review_id.is_in([r["id"] for r in rows]))
            .order_by(KycDocument.id)
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
    row = (
        await KycDocument.select(
            KycDocument.user_id,
            KycDocument.review_id,
            KycDocument.kind,
            KycDocument.content_type,
            KycDocument.content,
        )
        .where(KycDocument.id == document_id)
        .first()
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
        row = (
            await KycReview.select()
            .where((KycReview.id == review_id) & (KycReview.status == "pending"))
            .lock_rows("UPDATE")
            .first()
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
        [decided] = (
            await KycReview.update(
                {
                    KycReview.status: status_after,
                    KycReview.granted_level: granted,
                    KycReview.reason: reason,
                    KycReview.decided_by: operator_id,
                    KycReview.decided_at: database_now(),
                }
            )
            .where(KycReview.id == review_id)
            .returning(*KycReview.all_columns())
        )
        review = _review(decided)
        await _settle(conn, review)
    return review
