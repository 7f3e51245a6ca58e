"""Merchant onboarding, staff roles and API keys.

A merchant has one payable ledger account per currency (a liability of the platform,
hot: every sale credits it without a row lock, docs/ledger.md). Opening one needs an
owner verified to the basic level and a business profile; it starts `pending` and is
settled to a bank only once an operator approves it (`wallet.merchants.approval`).
Staff are users with a role: an owner manages everything, a cashier takes payments.
Servers authenticate with API keys: `mk_<prefix>_<secret>`, shown once, stored as
SHA-256, scoped, revocable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from piccolo.query.functions import Lower

from wallet.db.engine import Connection, transaction
from wallet.db.tables import database_now
from wallet.ledger import service as ledger
from wallet.ledger.models import AccountType, OwnerType
from wallet.merchants.errors import (
    InvalidMerchantDetails,
    MerchantNotFound,
    NotAllowed,
    VerificationRequired,
)
from wallet.merchants.tables import Merchant as MerchantRow
from wallet.merchants.tables import MerchantApiKey, MerchantStaff
from wallet.money import Currency
from wallet.payments.tables import PaymentMethod
from wallet.users.tables import AppUser

__all__ = ["InvalidMerchantDetails", "MerchantNotFound", "NotAllowed", "VerificationRequired"]

PAYABLE = "payable"
KEY_PREFIX = "mk_"
# The owner's verification levels that may open a merchant (basic or better).
OWNER_LEVELS = ("basic", "full", "premium")
_REGISTRATION_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./-]{1,39}$")


class Role(Enum):
    OWNER = "owner"
    CASHIER = "cashier"


class Scope(Enum):
    PAYMENTS_WRITE = "payments:write"
    REFUNDS_WRITE = "refunds:write"
    PAYMENTS_READ = "payments:read"


@dataclass(frozen=True, slots=True)
class Merchant:
    id: int
    name: str
    mcc: str
    country: str
    city: str
    settlement_schedule: str
    fee_percent_bp: int
    status: str
    approval_status: str = "pending"  # pending, approved, rejected (an operator's call)


@dataclass(frozen=True, slots=True)
class BusinessProfile:
    """What an operator looks at before approving a merchant (KYB-lite)."""

    legal_name: str
    address: str
    registration_number: str | None = None  # required unless a sole trader
    sole_trader: bool = False
    website: str | None = None
    description: str = ""  # what it sells; this or a website


@dataclass(frozen=True, slots=True)
class Onboarding:
    owner_user_id: int
    name: str
    mcc: str
    country: str
    city: str
    currencies: tuple[Currency, ...] = (Currency.USD,)
    settlement_schedule: str = "daily"
    settlement_method_id: int | None = None
    marketplace: bool = False  # sales wait in buyer-protection escrow
    profile: BusinessProfile | None = None  # required: onboarding refuses without it


@dataclass(frozen=True, slots=True)
class Principal:
    """Who acts for a merchant: a staff user (with a role) or an API key (with scopes)."""

    merchant_id: int
    user_id: int | None
    role: Role | None
    scopes: frozenset[Scope]

    def may(self, scope: Scope) -> bool:
        if self.role is Role.OWNER:
            return True
        if self.role is Role.CASHIER:
            return scope in (Scope.PAYMENTS_WRITE, Scope.PAYMENTS_READ)
        return scope in self.scopes


_COLUMNS = (
    MerchantRow.id,
    MerchantRow.name,
    MerchantRow.mcc,
    MerchantRow.country,
    MerchantRow.city,
    MerchantRow.settlement_schedule,
    MerchantRow.fee_percent_bp,
    MerchantRow.status,
    MerchantRow.approval_status,
)


def _merchant(row: object) -> Merchant:
    return Merchant(**dict(row))  # type: ignore[call-overload]


def _validate(o: Onboarding) -> None:
    if not 2 <= len(o.name.strip()) <= 60:
        raise InvalidMerchantDetails("name", "A business name is 2 to 60 characters")
    if not (len(o.mcc) == 4 and o.mcc.isdigit()):
        raise InvalidMerchantDetails("mcc", "A merchant category code is 4 digits")
    if not (len(o.country) == 2 and o.country.isalpha()):
        raise InvalidMerchantDetails("country", "A country is a 2-letter ISO code")
    if o.settlement_schedule not in ("daily", "weekly"):
        raise InvalidMerchantDetails("settlementSchedule", "Settlement is daily or weekly")
    if o.profile is None:
        raise InvalidMerchantDetails("legalName", "Tell us about the business first")
    _validate_profile(o.profile)


def _validate_profile(p: BusinessProfile) -> None:
    if not 2 <= len(p.legal_name.strip()) <= 120:
        raise InvalidMerchantDetails(
            "legalName", "The business's legal name is 2 to 120 characters"
        )
    number = (p.registration_number or "").strip()
    if number and not _REGISTRATION_NUMBER.match(number):
        raise InvalidMerchantDetails(
            "registrationNumber", "A registration number is 2 to 40 letters and digits"
        )
    if not number and not p.sole_trader:
        raise InvalidMerchantDetails(
            "registrationNumber",
            "Give the company registration number, or say you are a sole trader",
        )
    if not 5 <= len(p.address.strip()) <= 200:
        raise InvalidMerchantDetails("businessAddress", "Give the business's full address")
    website = (p.website or "").strip()
    if website and (not website.startswith(("https://", "http://")) or len(website) > 200):
        raise InvalidMerchantDetails("website", "A website starts with https://")
    if len(p.description) > 500:
        raise InvalidMerchantDetails("description", "Describe the business in 500 characters")
    if not website and len(p.description.strip()) < 10:
        raise InvalidMerchantDetails(
            "description", "Tell us what the business sells, or give its website"
        )


async def open_payable(conn: Connection, merchant_id: int, currency: Currency) -> int:
    account_id = await ledger.open_account(
        conn,
        owner_type=OwnerType.MERCHANT,
        owner_id=merchant_id,
        currency=currency,
        purpose=PAYABLE,
        account_type=AccountType.LIABILITY,
        no_overdraft=True,
        hot=True,  # every sale credits it
    )
    return account_id


async def onboard(o: Onboarding) -> Merchant:
    """Open a merchant, `pending` until an operator approves it (nothing is settled to a
    bank before). Refused unless the owner is verified to the basic level at least."""
    _validate(o)
    assert o.profile is not None  # _validate refuses a missing profile
    async with transaction() as conn:
        owner = (
            await AppUser.select(AppUser.verification_level)
            .where((AppUser.id == o.owner_user_id) & (AppUser.status == "active"))
            .first()
        )
        if owner is None or owner["verification_level"] not in OWNER_LEVELS:
            raise VerificationRequired()
        if o.settlement_method_id is not None:
            owned = await PaymentMethod.exists().where(
                (PaymentMethod.id == o.settlement_method_id)
                & (PaymentMethod.user_id == o.owner_user_id)
                & (PaymentMethod.kind == "bank_account")
                & (PaymentMethod.status == "active")
            )
            if not owned:
                raise InvalidMerchantDetails(
                    "settlementMethodId", "Settle to one of your linked bank accounts"
                )
        [row] = await MerchantRow.insert(
            MerchantRow(
                name=o.name.strip(),
                owner_user_id=o.owner_user_id,
                mcc=o.mcc,
                country=o.country.upper(),
                city=o.city.strip(),
                settlement_schedule=o.settlement_schedule,
                settlement_method_id=o.settlement_method_id,
                legal_name=o.profile.legal_name.strip(),
                registration_number=(o.profile.registration_number or "").strip() or None,
                sole_trader=o.profile.sole_trader,
                business_address=o.profile.address.strip(),
                website=(o.profile.website or "").strip() or None,
                business_description=o.profile.description.strip(),
            )
        ).returning(*_COLUMNS)
        merchant = _merchant(row)
        if o.marketplace:
            await MerchantRow.update({MerchantRow.marketplace: True}).where(
                MerchantRow.id == merchant.id
            )
        await MerchantStaff.insert(
            MerchantStaff(merchant_id=merchant.id, user_id=o.owner_user_id, role="owner")
        )
        for currency in o.currencies:
            await open_payable(conn, merchant.id, currency)
    return merchant


async def get_merchant(merchant_id: int) -> Merchant | None:
    row = await MerchantRow.select(*_COLUMNS).where(MerchantRow.id == merchant_id).first()
    return _merchant(row) if row else None


async def merchants_of(user_id: int) -> list[tuple[Merchant, Role]]:
    merchant: Any = MerchantStaff.merchant_id
    rows = await (
        MerchantStaff.select(
            *(getattr(merchant, c._meta.name).as_alias(c._meta.name) for c in _COLUMNS),
            MerchantStaff.role,
        )
        .where(MerchantStaff.user_id == user_id)
        .order_by(MerchantStaff.merchant_id)
    )
    found = []
    for r in rows:
        fields = dict(r)
        role = Role(fields.pop("role"))
        found.append((_merchant(fields), role))
    return found


async def staff_principal(merchant_id: int, user_id: int) -> Principal:
    """The user acting for the merchant, or `MerchantNotFound` if they are not staff."""
    staff = (
        await MerchantStaff.select(MerchantStaff.role)
        .where((MerchantStaff.merchant_id == merchant_id) & (MerchantStaff.user_id == user_id))
        .first()
    )
    if staff is None:
        raise MerchantNotFound()
    return Principal(merchant_id, user_id, Role(staff["role"]), frozenset())


async def add_staff(principal: Principal, user_id: int, role: Role) -> None:
    """Add a staff member, or change a member's role. The founding owner's role is not
    anyone's to change (a co-owner could otherwise demote them and take the shop)."""
    if principal.role is not Role.OWNER:
        raise NotAllowed("manage staff")
    async with transaction():
        if await _is_founder(principal.merchant_id, user_id):
            raise NotAllowed("change the founding owner's role")
        await MerchantStaff.insert(
            MerchantStaff(merchant_id=principal.merchant_id, user_id=user_id, role=role.value)
        ).on_conflict(
            target=(MerchantStaff.merchant_id, MerchantStaff.user_id),
            action="DO UPDATE",
            values=[MerchantStaff.role],
        )


async def _is_founder(merchant_id: int, user_id: int) -> bool:
    return await MerchantRow.exists().where(
        (MerchantRow.id == merchant_id) & (MerchantRow.owner_user_id == user_id)
    )


async def remove_staff(principal: Principal, user_id: int) -> None:
    """Take a user off the merchant's staff at once: their next request, and the next
    event of any subscription they hold open, is refused. The merchant's founding owner
    stays (a shop always has an owner)."""
    if principal.role is not Role.OWNER:
        raise NotAllowed("manage staff")
    async with transaction():
        founder = MerchantRow.select(MerchantRow.owner_user_id).where(
            MerchantRow.id == principal.merchant_id
        )
        removed = (
            await MerchantStaff.delete()
            .where(
                (MerchantStaff.merchant_id == principal.merchant_id)
                & (MerchantStaff.user_id == user_id)
                & MerchantStaff.user_id.not_in(founder)
            )
            .returning(MerchantStaff.user_id)
        )
    if not removed:
        raise MerchantNotFound()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedKey:
    id: int
    prefix: str
    key: str  # shown once


async def create_api_key(principal: Principal, label: str, scopes: set[Scope]) -> IssuedKey:
    if principal.role is not Role.OWNER:
        raise NotAllowed("create API keys")
    if not scopes:
        raise InvalidMerchantDetails("scopes", "Give the key at least one scope")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    async with transaction():
        [row] = await MerchantApiKey.insert(
            MerchantApiKey(
                merchant_id=principal.merchant_id,
                prefix=prefix,
                secret_hash=_digest(secret),
                scopes=sorted(s.value for s in scopes),
                label=label,
            )
        ).returning(MerchantApiKey.id)
    return IssuedKey(int(row["id"]), prefix, f"{KEY_PREFIX}{prefix}_{secret}")


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """An API key as its merchant's owner sees it: never its secret."""

    id: int
    prefix: str
    label: str
    scopes: tuple[Scope, ...]
    created_at: datetime
    revoked_at: datetime | None


_SCOPE_VALUES = frozenset(s.value for s in Scope)


async def api_keys_of(principal: Principal) -> list[ApiKeyInfo]:
    """The merchant's API keys, newest first, revoked ones too (the owner's list)."""
    if principal.role is not Role.OWNER:
        raise NotAllowed("see API keys")
    rows = (
        await MerchantApiKey.select(
            MerchantApiKey.id,
            MerchantApiKey.prefix,
            MerchantApiKey.label,
            MerchantApiKey.scopes,
            MerchantApiKey.created_at,
            MerchantApiKey.revoked_at,
        )
        .where(MerchantApiKey.merchant_id == principal.merchant_id)
        .order_by(MerchantApiKey.id, ascending=False)
    )
    return [
        ApiKeyInfo(
            int(r["id"]),
            r["prefix"],
            r["label"],
            # A scope no longer offered is shown as nothing, never a server error.
            tuple(Scope(s) for s in r["scopes"] if s in _SCOPE_VALUES),
            r["created_at"],
            r["revoked_at"],
        )
        for r in rows
    ]


async def revoke_api_key(principal: Principal, key_id: int) -> None:
    if principal.role is not Role.OWNER:
        raise NotAllowed("revoke API keys")
    async with transaction():
        done = (
            await MerchantApiKey.update({MerchantApiKey.revoked_at: database_now()})
            .where(
                (MerchantApiKey.id == key_id)
                & (MerchantApiKey.merchant_id == principal.merchant_id)
                & MerchantApiKey.revoked_at.is_null()
            )
            .returning(MerchantApiKey.id)
        )
    if not done:
        raise MerchantNotFound()


async def authenticate_api_key(raw: str) -> Principal | None:
    """The merchant principal of a presented key, or None (unknown, revoked, forged)."""
    if not raw.startswith(KEY_PREFIX):
        return None
    prefix, _, secret = raw[len(KEY_PREFIX) :].partition("_")
    if not prefix or not secret:
        return None
    key_merchant: Any = MerchantApiKey.merchant_id
    row = (
        await MerchantApiKey.select(
            MerchantApiKey.merchant_id, MerchantApiKey.secret_hash, MerchantApiKey.scopes
        )
        .where(
            (MerchantApiKey.prefix == prefix)
            & MerchantApiKey.revoked_at.is_null()
            & (key_merchant.status == "active")
        )
        .first()
    )
    if row is None or not hmac.compare_digest(row["secret_hash"], _digest(secret)):
        return None
    scopes = frozenset(Scope(s) for s in row["scopes"])
    return Principal(int(row["merchant_id"]), None, None, scopes)


async def user_id_by_username(username: str) -> int | None:
    found = (
        await AppUser.select(AppUser.id)
        .where(Lower(AppUser.username) == username.strip().removeprefix("@").lower())
        .where(AppUser.status == "active")
        .first()
    )
    return None if found is None else int(found["id"])


async def set_fees(merchant_id: int, percent_bp: int, fixed: dict[Currency, int]) -> None:
    """The merchant's fee rate (an operator's decision): basis points plus a fixed amount
    per payment in each currency, in minor units."""
    if not 0 <= percent_bp <= 10_000:
        raise InvalidMerchantDetails("percentBp", "A percentage is 0 to 10000 basis points")
    if any(v < 0 for v in fixed.values()):
        raise InvalidMerchantDetails("fixed", "A fixed fee cannot be negative")
    async with transaction():
        done = (
            await MerchantRow.update(
                {
                    MerchantRow.fee_percent_bp: percent_bp,
                    MerchantRow.fee_fixed: json.dumps({c.value: v for c, v in fixed.items()}),
                }
            )
            .where(MerchantRow.id == merchant_id)
            .returning(MerchantRow.id)
        )
    if not done:
        raise MerchantNotFound()
