"""Each fraud rule, alone: a payment that matches it, and one that does not."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.factories import make_user
from wallet.db.engine import connection, transaction
from wallet.fraud import engine
from wallet.fraud.engine import Attempt, Decision, RiskContext
from wallet.money import Currency, Money
from wallet.rates import SANDBOX_PER_USD, RateSnapshot
from wallet.security.devices import agent_fingerprint, key_fingerprint, record_sign_in

pytestmark = pytest.mark.usefixtures("database_url")

RATES = RateSnapshot(dict(SANDBOX_PER_USD), datetime.now(UTC))
PHONE_KEY = (
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
)
PHONE = RiskContext(user_agent="WalletApp/2.1", device=key_fingerprint(PHONE_KEY), ip="203.0.113.9")
BROWSER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/130"
LONDON, OXFORD, NEW_YORK = (51.5072, -0.1276), (51.752, -1.2577), (40.7128, -74.006)


async def only(code: str) -> None:
    async with connection() as conn:
        await conn.execute("UPDATE fraud_rule SET enabled = (code = $1)", code)
    engine.forget_rules()


async def sends(user_id: int, recipient_id: int, cents: list[int], ago: timedelta) -> None:
    """Earlier sends of `user_id`, as the history the rules read."""
    async with transaction() as conn:
        for amount in cents:
            await conn.execute(
                "INSERT INTO money_transaction (type, status, amount, currency, initiator_user_id,"
                " counterparty_user_id, created_at) VALUES ('send', 'completed', $1, 'USD', $2, "
                "$3, now() - $4::interval)",
                amount,
                user_id,
                recipient_id,
                ago,
            )


async def hits(
    user_id: int,
    recipient_id: int,
    dollars: str,
    context: RiskContext | None = None,
    now: datetime | None = None,
) -> list[str]:
    attempt = Attempt(
        user_id,
        recipient_id,
        Money.parse(dollars, Currency.USD),
        context,
        now or datetime.now(UTC),
    )
    async with transaction() as conn:
        assessment = await engine.assess(conn, attempt, RATES)
    return [h.code for h in assessment.hits]


async def pair() -> tuple[Any, Any]:
    return await make_user(), await make_user()


async def test_velocity_count_counts_sends_in_the_window_only() -> None:
    await only("velocity_count")
    (alice, bob), (carol, _) = await pair(), await pair()
    await sends(alice.id, bob.id, [100] * 5, timedelta(minutes=2))
    assert await hits(alice.id, bob.id, "1.00") == ["velocity_count"]
    await sends(carol.id, bob.id, [100] * 4, timedelta(minutes=2))
    await sends(carol.id, bob.id, [100] * 5, timedelta(minutes=30))  # outside 10 minutes
    assert await hits(carol.id, bob.id, "1.00") == []


async def test_velocity_amount_adds_the_hour_in_dollars() -> None:
    await only("velocity_amount")
    alice, bob = await pair()
    await sends(alice.id, bob.id, [290_000], timedelta(minutes=20))
    assert await hits(alice.id, bob.id, "200.00") == ["velocity_amount"]
    assert await hits(alice.id, bob.id, "50.00") == []


async def test_new_device_with_a_high_amount_but_not_the_first_device() -> None:
    await only("new_device_amount")
    alice, bob = await pair()
    await record_sign_in(alice.id, BROWSER_AGENT, None, None)
    async with connection() as conn:
        await conn.execute(
            "UPDATE user_device SET first_seen = now() - interval '30 days' WHERE user_id = $1",
            alice.id,
        )
    browser = RiskContext(user_agent=BROWSER_AGENT, device=agent_fingerprint(BROWSER_AGENT))
    assert await hits(alice.id, bob.id, "300.00", browser) == []  # the first device
    await record_sign_in(alice.id, PHONE.user_agent, PHONE_KEY, PHONE.ip)
    assert await hits(alice.id, bob.id, "300.00", PHONE) == ["new_device_amount"]
    assert await hits(alice.id, bob.id, "299.99", PHONE) == []
    assert await hits(alice.id, bob.id, "300.00") == []  # no request context: no device


async def test_unusual_amount_compares_with_the_users_average() -> None:
    await only("unusual_amount")
    (alice, bob), (carol, _) = await pair(), await pair()
    await sends(alice.id, bob.id, [2_000, 4_000, 3_000], timedelta(days=3))
    assert await hits(alice.id, bob.id, "250.00") == ["unusual_amount"]  # 8x the $30 average
    await sends(carol.id, bob.id, [10_000, 12_000, 8_000], timedelta(days=3))
    assert await hits(carol.id, bob.id, "250.00") == []  # 2.5x
    assert await hits(alice.id, bob.id, "100.00") == []  # under $200 is never unusual


async def test_the_usual_amount_is_that_of_the_latest_fifty_payments() -> None:
    await only("unusual_amount")
    alice, bob = await pair()
    await sends(alice.id, bob.id, [1_000_000] * 5, timedelta(days=30))  # long ago, large
    await sends(alice.id, bob.id, [10_000] * 50, timedelta(days=1))  # lately, $100 each
    # Six times the usual $100 (the five large ones are older than the last fifty).
    assert await hits(alice.id, bob.id, "600.00") == ["unusual_amount"]


async def test_new_recipient_only_above_the_amount_and_only_the_first_time() -> None:
    await only("new_recipient")
    alice, bob = await pair()
    assert await hits(alice.id, bob.id, "800.00") == ["new_recipient"]
    assert await hits(alice.id, bob.id, "799.99") == []
    await sends(alice.id, bob.id, [100], timedelta(days=40))
    assert await hits(alice.id, bob.id, "800.00") == []


async def test_geolocation_jump_faster_than_a_plane() -> None:
    await only("geo_jump")
    alice, bob = await pair()
    start = datetime.now(UTC)
    in_london = RiskContext(user_agent="x", geo=LONDON)
    assert await hits(alice.id, bob.id, "5.00", in_london, start) == []  # nothing to compare
    later = start + timedelta(minutes=30)
    oxford = RiskContext(user_agent="x", geo=OXFORD)
    assert await hits(alice.id, bob.id, "5.00", oxford, later) == []  # 80 km: not a jump
    new_york = RiskContext(user_agent="x", geo=NEW_YORK)
    assert await hits(alice.id, bob.id, "5.00", new_york, later + timedelta(minutes=40)) == [
        "geo_jump"
    ]
    # Last seen in New York; London eight hours after that is a plane ride (670 km/h).
    back = RiskContext(user_agent="x", geo=LONDON)
    assert await hits(alice.id, bob.id, "5.00", back, later + timedelta(hours=9)) == []


async def test_blocklist_matches_recipient_device_and_ip() -> None:
    await only("blocklist")
    alice, bob = await pair()
    carol = await make_user()
    assert await hits(alice.id, bob.id, "5.00", PHONE) == []
    async with connection() as conn:
        await conn.execute(
            "INSERT INTO fraud_blocklist (kind, value, reason) VALUES ('email', $1, 'mule'), "
            "('ip', '198.51.100.7', 'botnet')",
            bob.email.lower(),
        )
    assert await hits(alice.id, bob.id, "5.00") == ["blocklist"]
    assert await hits(alice.id, carol.id, "5.00", PHONE) == []
    from_botnet = RiskContext(user_agent="x", ip="198.51.100.7")
    assert await hits(alice.id, carol.id, "5.00", from_botnet) == ["blocklist"]


async def test_scores_add_up_to_hold_and_block() -> None:
    alice, bob = await pair()
    await sends(alice.id, bob.id, [2_000, 2_000, 2_000], timedelta(days=1))
    async with transaction() as conn:
        await conn.execute(
            "UPDATE fraud_rule SET enabled = code IN ('unusual_amount', 'new_recipient')"
        )
    engine.forget_rules()
    carol = await make_user()
    attempt = Attempt(alice.id, carol.id, Money(90_000, Currency.USD), None, datetime.now(UTC))
    async with transaction() as conn:
        assessment = await engine.assess(conn, attempt, RATES)
    assert (assessment.score, assessment.decision) == (50, Decision.HOLD)  # 30 + 20
    async with transaction() as conn:
        strict = await engine.assess(conn, attempt, RATES, engine.Thresholds(hold=20, block=50))
    assert strict.decision is Decision.BLOCK


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("51.5,-0.12", (51.5, -0.12)),
        (" 40.7 , -74.0 ", (40.7, -74.0)),
        ("91,0", None),
        ("nowhere", None),
        ("1,2,3", None),
        (None, None),
    ],
)
def test_geo_header_is_read_or_ignored(
    header: str | None, expected: tuple[float, float] | None
) -> None:
    assert engine.parse_geo(header) == expected


async def test_scoring_keeps_one_generic_plan_for_the_features_query() -> None:
    """Planning the features query anew took longer than running it (a millisecond a
    payment); after PostgreSQL's five custom plans the prepared statement keeps a generic
    one, which it only does when that plan costs no more than the custom ones."""
    alice, bob = await pair()
    await sends(alice.id, bob.id, [500, 700], timedelta(minutes=5))
    attempt = Attempt(alice.id, bob.id, Money(900, Currency.USD), PHONE, datetime.now(UTC))
    async with transaction() as conn:
        for _ in range(8):
            assessment = await engine.assess(conn, attempt, RATES)
        plans = await conn.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%AS blocklisted%' AND statement NOT LIKE '%pg_prepared%'"
        )
    assert assessment.decision is Decision.ALLOW
    assert plans is not None
    assert plans["generic_plans"] >= 3, dict(plans)
