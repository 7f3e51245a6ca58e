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
from enum import Enum

from wallet.db.engine import Connection, connection, transaction
from wallet.ledger import service as ledger
from wallet.ledger.models import AccountType, OwnerType
from wallet.merchants.errors import (
    InvalidMerchantDetails,
    MerchantNotFound,
    NotAllowed,
    VerificationRequired,
)
from wallet.money import Currency

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
    "id, name, mcc, country, city, settlement_schedule, fee_percent_bp, status, approval_status"
)


_INSERT_MERCHANT = (
    "INSERT INTO merchant (name, owner_user_id, mcc, country, city, "
    "settlement_schedule, settlement_method_id, legal_name, registration_number, "
    "sole_trader, business_address, website, business_description) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING " + _COLUMNS
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
        level = await conn.fetchval(
            "SELECT verification_level FROM app_user WHERE id = $1 AND status = 'active'",
            o.owner_user_id,
        )
        if level not in OWNER_LEVELS:
            raise VerificationRequired()
        if o.settlement_method_id is not None:
            owned = await conn.fetchval(
                "SELECT 1 FROM payment_method WHERE id = $1 AND user_id = $2 "
                "AND kind = 'bank_account' AND status = 'active'",
                o.settlement_method_id,
                o.owner_user_id,
            )
            if not owned:
                raise InvalidMerchantDetails(
                    "settlementMethodId", "Settle to one of your linked bank accounts"
                )
        row = await conn.fetchrow(
            _INSERT_MERCHANT,
            o.name.strip(),
            o.owner_user_id,
            o.mcc,
            o.country.upper(),
            o.city.strip(),
            o.settlement_schedule,
            o.settlement_method_id,
            o.profile.legal_name.strip(),
            (o.profile.registration_number or "").strip() or None,
            o.profile.sole_trader,
            o.profile.address.strip(),
            (o.profile.website or "").strip() or None,
            o.profile.description.strip(),
        )
        merchant = _merchant(row)
        if o.marketplace:
            await conn.execute("UPDATE merchant SET marketplace = true WHERE id = $1", merchant.id)
        await conn.execute(
            "INSERT INTO merchant_staff (merchant_id, user_id, role) VALUES ($1, $2, 'owner')",
            merchant.id,
            o.owner_user_id,
        )
        for currency in o.currencies:
            await open_payable(conn, merchant.id, currency)
    return merchant


async def get_merchant(merchant_id: int) -> Merchant | None:
    async with connection() as conn:
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM merchant WHERE id = $1",  # noqa: S608
            merchant_id,
        )
    return _merchant(row) if row else None


async def merchants_of(user_id: int) -> list[tuple[Merchant, Role]]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT m.id, m.name, m.mcc, m.country, m.city, m.settlement_schedule, "
            "m.fee_percent_bp, m.status, m.approval_status, s.role FROM merchant m "
            "JOIN merchant_staff s ON s.merchant_id = m.id WHERE s.user_id = $1 ORDER BY m.id",
            user_id,
        )
    found = []
    for r in rows:
        fields = dict(r)
        role = Role(fields.pop("role"))
        found.append((_merchant(fields), role))
    return found


async def staff_principal(merchant_id: int, user_id: int) -> Principal:
    """The user acting for the merchant, or `MerchantNotFound` if they are not staff."""
    async with connection() as conn:
        role = await conn.fetchval(
            "SELECT role FROM merchant_staff WHERE merchant_id = $1 AND user_id = $2",
            merchant_id,
            user_id,
        )
    if role is None:
        raise MerchantNotFound()
    return Principal(merchant_id, user_id, Role(role), frozenset())


async def add_staff(principal: Principal, user_id: int, role: Role) -> None:
    """Add a staff member, or change a member's role. The founding owner's role is not
    anyone's to change (a co-owner could otherwise demote them and take the shop)."""
    if principal.role is not Role.OWNER:
        raise NotAllowed("manage staff")
    async with transaction() as conn:
        founder = await conn.fetchval(
            "SELECT owner_user_id FROM merchant WHERE id = $1", principal.merchant_id
        )
        if founder == user_id:
            raise NotAllowed("change the founding owner's role")
        await conn.execute(
            "INSERT INTO merchant_staff (merchant_id, user_id, role) VALUES ($1, $2, $3) "
            "ON CONFLICT (merchant_id, user_id) DO UPDATE SET role = EXCLUDED.role",
            principal.merchant_id,
            user_id,
            role.value,
        )


async def remove_staff(principal: Principal, user_id: int) -> None:
    """Take a user off the merchant's staff at once: their next request, and the next
    event of any subscription they hold open, is refused. The merchant's founding owner
    stays (a shop always has an owner)."""
    if principal.role is not Role.OWNER:
        raise NotAllowed("manage staff")
    async with transaction() as conn:
        removed = await conn.fetchval(
            "DELETE FROM merchant_staff s USING merchant m WHERE m.id = s.merchant_id "
            "AND s.merchant_id = $1 AND s.user_id = $2 AND m.owner_user_id <> s.user_id "
            "RETURNING s.user_id",
            principal.merchant_id,
            user_id,
        )
    if removed is None:
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
    async with transaction() as conn:
        key_id = await conn.fetchval(
            "INSERT INTO merchant_api_key (merchant_id, prefix, secret_hash, scopes, label) "
            "VALUES ($1, $2, $3, $4, $5) RETURNING id",
            principal.merchant_id,
            prefix,
            _digest(secret),
            sorted(s.value for s in scopes),
            label,
        )
    return IssuedKey(int(key_id), prefix, f"{KEY_PREFIX}{prefix}_{secret}")


async def revoke_api_key(principal: Principal, key_id: int) -> None:
    if principal.role is not Role.OWNER:
        raise NotAllowed("revoke API keys")
    async with transaction() as conn:
        done = await conn.fetchval(
            "UPDATE merchant_api_key SET revoked_at = now() WHERE id = $1 AND merchant_id = $2 "
            "AND revoked_at IS NULL RETURNING id",
            key_id,
            principal.merchant_id,
        )
    if done is None:
        raise MerchantNotFound()


async def authenticate_api_key(raw: str) -> Principal | None:
    """The merchant principal of a presented key, or None (unknown, revoked, forged)."""
    if not raw.startswith(KEY_PREFIX):
        return None
    prefix, _, secret = raw[len(KEY_PREFIX) :].partition("_")
    if not prefix or not secret:
        return None
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT k.merchant_id, k.secret_hash, k.scopes FROM merchant_api_key k "
            "JOIN merchant m ON m.id = k.merchant_id "
            "WHERE k.prefix = $1 AND k.revoked_at IS NULL AND m.status = 'active'",
            prefix,
        )
    if row is None or not hmac.compare_digest(row["secret_hash"], _digest(secret)):
        return None
    scopes = frozenset(Scope(s) for s in row["scopes"])
    return Principal(int(row["merchant_id"]), None, None, scopes)


async def user_id_by_username(username: str) -> int | None:
    async with connection() as conn:
        found = await conn.fetchval(
            "SELECT id FROM app_user WHERE lower(username) = $1 AND status = 'active'",
            username.strip().removeprefix("@").lower(),
        )
    return None if found is None else int(found)


async def set_fees(merchant_id: int, percent_bp: int, fixed: dict[Currency, int]) -> None:
    """The merchant's fee rate (an operator's decision): basis points plus a fixed amount
    per payment in each currency, in minor units."""
    if not 0 <= percent_bp <= 10_000:
        raise InvalidMerchantDetails("percentBp", "A percentage is 0 to 10000 basis points")
    if any(v < 0 for v in fixed.values()):
        raise InvalidMerchantDetails("fixed", "A fixed fee cannot be negative")
    async with transaction() as conn:
        done = await conn.fetchval(
            "UPDATE merchant SET fee_percent_bp = $2, fee_fixed = $3::jsonb WHERE id = $1 "
            "RETURNING id",
            merchant_id,
            percent_bp,
            json.dumps({c.value: v for c, v in fixed.items()}),
        )
    if done is None:
        raise MerchantNotFound()
