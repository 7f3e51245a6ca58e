"""Demo data for `wallet dev`: two consumers with balances and two merchants (a coffee
shop and a biller), approved by the demo operator. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from wallet.db.engine import connection, transaction
from wallet.merchants import approval
from wallet.merchants.service import BusinessProfile, Onboarding, onboard
from wallet.money import Currency, Money
from wallet.users.models import SignUpRequest
from wallet.users.pin import set_pin
from wallet.users.service import sign_up
from wallet.wallets.service import grant_promotional_credit

DEMO_PASSWORD = "demo-wallet-2026"  # noqa: S105 (public demo login, printed by `make dev`)
DEMO_PIN = "1234"  # the demo users' transaction PIN


@dataclass(frozen=True)
class DemoUser:
    username: str
    email: str
    phone: str
    opening_balance: str
    merchant_name: str | None = None
    operator_role: str | None = None
    biller_reference_pattern: str | None = None  # a merchant that takes bill payments


DEMO_USERS = (
    DemoUser("alice", "alice@example.com", "+14155550101", "250.00"),
    DemoUser("bob", "bob@example.com", "+14155550102", "100.00"),
    DemoUser(
        "corner_coffee",
        "owner@cornercoffee.example",
        "+14155550103",
        "0.00",
        merchant_name="Corner Coffee",
    ),
    DemoUser("ops", "ops@wallet.example", "+14155550104", "0.00", operator_role="admin"),
    DemoUser(
        "city_power",
        "billing@citypower.example",
        "+14155550105",
        "0.00",
        merchant_name="City Power",
        biller_reference_pattern=r"[0-9]{8}",
    ),
)


async def seed_demo() -> list[DemoUser]:
    """Create the demo users that do not exist yet; return the ones created."""
    created = []
    for demo in DEMO_USERS:
        async with connection() as conn:
            if await conn.fetchval("SELECT 1 FROM app_user WHERE username = $1", demo.username):
                continue
        async with transaction() as conn:
            user = await sign_up(
                SignUpRequest(demo.email, demo.phone, demo.username, DEMO_PASSWORD)
            )
            opening = Money.parse(demo.opening_balance, Currency.USD)
            if opening.is_positive:
                await grant_promotional_credit(conn, user.id, opening, "Demo opening balance")
            if demo.merchant_name:
                # Demo data: a merchant's owner must be verified (basic) to open it.
                await conn.execute(
                    "UPDATE app_user SET verification_level = 'basic' WHERE id = $1", user.id
                )
            if demo.operator_role:
                await conn.execute(
                    "UPDATE app_user SET operator_role = $2 WHERE id = $1",
                    user.id,
                    demo.operator_role,
                )
        await set_pin(user.id, DEMO_PIN)
        if demo.merchant_name:
            merchant = await onboard(
                Onboarding(
                    owner_user_id=user.id,
                    name=demo.merchant_name,
                    mcc="5814",
                    country="US",
                    city="San Francisco",
                    profile=BusinessProfile(
                        legal_name=f"{demo.merchant_name} LLC",
                        address="1 Market Street, San Francisco, CA 94105",
                        registration_number="CA-2026-0001",
                        description=f"{demo.merchant_name}: the demo shop",
                    ),
                )
            )
            if demo.biller_reference_pattern:
                async with transaction() as conn:
                    await conn.execute(
                        "UPDATE merchant SET biller_reference_pattern = $2 WHERE id = $1",
                        merchant.id,
                        demo.biller_reference_pattern,
                    )
        created.append(demo)
    await _approve_demo_merchants()
    return created


async def _approve_demo_merchants() -> None:
    """The demo merchants are approved by the demo operator (also those of a database
    seeded before merchants needed approval)."""
    async with connection() as conn:
        operator_id = await conn.fetchval("SELECT id FROM app_user WHERE username = 'ops'")
        waiting = await conn.fetch(
            "SELECT m.id FROM merchant m JOIN app_user u ON u.id = m.owner_user_id "
            "WHERE m.approval_status = 'pending' AND u.username = ANY($1::text[])",
            [d.username for d in DEMO_USERS if d.merchant_name],
        )
    for row in waiting:
        await approval.decide(
            int(row["id"]), int(operator_id), approval.Decision.APPROVE, "Demo merchant"
        )
