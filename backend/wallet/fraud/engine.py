"""The fraud rules engine: scores a payment before it is posted (docs/security.md, "Fraud rules").

Rules are rows of `fraud_rule` (kind, parameters, score, on/off). Everything the rules
look at is read in one query (`_features`); each enabled rule that matches adds its
score. A total at or above the hold score holds the payment for review (money reserved,
transaction PENDING); at or above the block score it is refused.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from wallet.config import FraudSettings, get_settings
from wallet.db.engine import Connection
from wallet.money import Currency, Money
from wallet.rates import RateSnapshot


class Decision(Enum):
    ALLOW = "allow"
    HOLD = "hold"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class RiskContext:
    """Where a request came from: its user agent, the session's device (its fingerprint,
    `wallet.security.devices`), IP address, and the position the app reported
    (`X-Client-Geo: lat,lon`)."""

    user_agent: str = ""
    device: str | None = None
    ip: str | None = None
    geo: tuple[float, float] | None = None


def parse_geo(header: str | None) -> tuple[float, float] | None:
    """`"<latitude>,<longitude>"` in degrees, or None when absent or malformed."""
    try:
        latitude, longitude = (float(part) for part in (header or "").split(","))
    except ValueError:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude


@dataclass(frozen=True, slots=True)
class Attempt:
    """A payment about to be made: to a user (`recipient_id`), to a merchant
    (`merchant_id`; the blocklist looks at its owner), or to an email or phone with no
    wallet yet (`recipient_contact`)."""

    user_id: int
    recipient_id: int | None
    amount: Money
    context: RiskContext | None
    now: datetime
    merchant_id: int | None = None
    recipient_contact: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    kind: str
    params: dict[str, Any]
    score: int
    description: str


@dataclass(frozen=True, slots=True)
class Hit:
    code: str
    score: int
    detail: str


@dataclass(frozen=True, slots=True)
class Assessment:
    decision: Decision
    score: int
    hits: list[Hit] = field(default_factory=list)

    def hits_json(self) -> str:
        return json.dumps(
            [{"code": h.code, "score": h.score, "detail": h.detail} for h in self.hits]
        )


@dataclass(frozen=True, slots=True)
class Thresholds:
    hold: int = 50
    block: int = 100

    @classmethod
    def from_settings(cls, fraud: FraudSettings) -> Thresholds:
        return cls(hold=fraud.hold_score, block=fraud.block_score)


_rules_cache: tuple[float, list[Rule]] | None = None


def _rules_ttl() -> float:
    """How long a process keeps the rules it read (WALLET_FRAUD_RULES_TTL_SECONDS):
    a change by an operator reaches every API process within this time."""
    return get_settings().fraud.rules_ttl_seconds


def forget_rules() -> None:
    """Reload the rules on next use (after an operator or a test changed them)."""
    global _rules_cache
    _rules_cache = None


async def enabled_rules(conn: Connection) -> list[Rule]:
    """The enabled rules, cached for a few seconds (they change rarely)."""
    global _rules_cache
    if _rules_cache is not None and time.monotonic() - _rules_cache[0] < _rules_ttl():
        return _rules_cache[1]
    rows = await conn.fetch(
        "SELECT code, kind, params, score, description FROM fraud_rule WHERE enabled ORDER BY code"
    )
    rules = [
        Rule(r["code"], r["kind"], json.loads(r["params"]), int(r["score"]), r["description"])
        for r in rows
    ]
    _rules_cache = (time.monotonic(), rules)
    return rules


@dataclass(frozen=True, slots=True)
class Features:
    """What the rules need to know about the sender, in one read."""

    recent_count: int
    recent_sums: dict[str, int]
    history_count: int
    history_average: float | None
    paid_before: bool
    device_first_seen: datetime | None
    first_device_seen: datetime | None
    last_latitude: float | None
    last_longitude: float | None
    last_seen_at: datetime | None
    blocklisted: list[str]


# How many of the user's latest payments make their usual amount (`unusual_amount`'s
# `last` parameter overrides it).
HISTORY_SIZE = 50


def _window(rules: list[Rule], kind: str, key: str, default: float) -> float:
    values = [float(r.params.get(key, default)) for r in rules if r.kind == kind]
    return max(values) if values else 0.0


async def _features(conn: Connection, attempt: Attempt, rules: list[Rule]) -> Features:
    count_window = _window(rules, "velocity_count", "window_seconds", 600)
    amount_window = _window(rules, "velocity_amount", "window_seconds", 3600)
    history_days = _window(rules, "unusual_amount", "days", 90)
    history_size = int(_window(rules, "unusual_amount", "last", HISTORY_SIZE))
    since = attempt.now - timedelta(seconds=max(count_window, amount_window, 1))
    context = attempt.context or RiskContext()
    # Velocity reads the last hour or so; the usual amount reads at most the last
    # `history_size` payments in the currency (an index range, newest first), so the cost
    # of scoring does not grow with a user's history. Every branch is an index lookup, so
    # after a few runs PostgreSQL keeps one generic plan for the prepared statement instead
    # of planning it again on each payment (planning cost a millisecond, more than running).
    row = await conn.fetchrow(
        """
        WITH recent AS (
            SELECT currency, amount, created_at FROM money_transaction
            WHERE initiator_user_id = $1 AND type IN ('send', 'payment') AND created_at >= $2
              AND status NOT IN ('failed', 'expired')
        ), history AS (
            SELECT amount FROM money_transaction
            WHERE initiator_user_id = $1 AND currency = $5 AND created_at >= $6
              AND type IN ('send', 'payment') AND status NOT IN ('failed', 'expired')
            ORDER BY created_at DESC LIMIT $12
        ), recipient AS (
            SELECT id::text AS id, lower(email) AS email, phone FROM app_user
            WHERE id = coalesce($7, (SELECT owner_user_id FROM merchant WHERE id = $10))
        ), watched (kind, value) AS (
            VALUES ('device', $8), ('ip', $9), ('email', lower($11)), ('phone', $11)
            UNION ALL SELECT 'user', id FROM recipient
            UNION ALL SELECT 'email', email FROM recipient
            UNION ALL SELECT 'phone', phone FROM recipient
        )
        SELECT
          (SELECT count(*) FROM recent WHERE created_at >= $3) AS recent_count,
          (SELECT coalesce(jsonb_object_agg(currency, total), '{}'::jsonb)::text
             FROM (SELECT currency, sum(amount) AS total FROM recent
                   WHERE created_at >= $4 GROUP BY currency) s) AS recent_sums,
          (SELECT count(*) FROM history) AS history_count,
          (SELECT avg(amount)::float8 FROM history) AS history_average,
          CASE WHEN $10::bigint IS NOT NULL THEN EXISTS (
                   SELECT 1 FROM money_transaction WHERE merchant_id = $10
                   AND initiator_user_id = $1 AND status = 'completed')
               WHEN $7::bigint IS NOT NULL THEN EXISTS (
                   SELECT 1 FROM money_transaction WHERE counterparty_user_id = $7
                   AND initiator_user_id = $1 AND status = 'completed')
               ELSE EXISTS (
                   SELECT 1 FROM money_transaction WHERE recipient_contact = $11
                   AND initiator_user_id = $1 AND status = 'completed') END AS paid_before,
          (SELECT first_seen FROM user_device WHERE user_id = $1 AND fingerprint = $8)
             AS device_first_seen,
          (SELECT min(first_seen) FROM user_device WHERE user_id = $1) AS first_device_seen,
          l.latitude, l.longitude, l.seen_at,
          (SELECT coalesce(array_agg(DISTINCT b.kind), '{}') FROM fraud_blocklist b
             JOIN watched w ON (b.kind, b.value) = (w.kind, w.value)) AS blocklisted
        FROM (SELECT 1) one LEFT JOIN risk_location l ON l.user_id = $1
        """,
        attempt.user_id,
        since,
        attempt.now - timedelta(seconds=count_window),
        attempt.now - timedelta(seconds=amount_window),
        attempt.amount.currency.value,
        attempt.now - timedelta(days=history_days),
        attempt.recipient_id,
        context.device,
        context.ip,
        attempt.merchant_id,
        attempt.recipient_contact,
        history_size,
    )
    return Features(
        recent_count=int(row["recent_count"]),
        recent_sums={k: int(v) for k, v in json.loads(row["recent_sums"]).items()},
        history_count=int(row["history_count"]),
        history_average=row["history_average"],
        paid_before=bool(row["paid_before"]),
        device_first_seen=row["device_first_seen"],
        first_device_seen=row["first_device_seen"],
        last_latitude=row["latitude"],
        last_longitude=row["longitude"],
        last_seen_at=row["seen_at"],
        blocklisted=list(row["blocklisted"]),
    )


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine, Earth radius 6371 km)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))


Check = Callable[[Rule, Attempt, Features, RateSnapshot], str | None]


def _usd(rates: RateSnapshot, minor: int, currency: str) -> int:
    return rates.usd_value(Money(minor, Currency(currency)))


def _usd_param(rule: Rule, name: str, default_dollars: int) -> int:
    """A rule's amount parameter in US cents. Operators write whole US dollars (any
    non-negative number is accepted by `update_rule`; a fraction is dropped, as always)."""
    dollars = int(rule.params.get(name, default_dollars))
    return Money(dollars * 10**Currency.USD.exponent, Currency.USD).amount_minor


def _velocity_count(rule: Rule, attempt: Attempt, f: Features, rates: RateSnapshot) -> str | None:
    limit = int(rule.params.get("max_count", 5))
    if f.recent_count + 1 > limit:
        return f"{f.recent_count + 1} sends in {int(rule.params.get('window_seconds', 600))} s"
    return None


def _velocity_amount(rule: Rule, attempt: Attempt, f: Features, rates: RateSnapshot) -> str | None:
    spent = sum(_usd(rates, total, currency) for currency, total in f.recent_sums.items())
    total = spent + rates.usd_value(attempt.amount)
    if total > _usd_param(rule, "max_usd", 3000):
        return f"${total / 100:,.2f} sent in {int(rule.params.get('window_seconds', 3600))} s"
    return None


def _new_device_amount(
    rule: Rule, attempt: Attempt, f: Features, rates: RateSnapshot
) -> str | None:
    if attempt.context is None or attempt.context.device is None:
        return None
    if rates.usd_value(attempt.amount) < _usd_param(rule, "min_usd", 300):
        return None
    young = attempt.now - timedelta(seconds=int(rule.params.get("device_age_seconds", 86400)))
    first_seen = f.device_first_seen
    unknown = first_seen is None
    # The account's first device is where it was made: that one is not "new".
    newer = first_seen is not None and first_seen >= young and first_seen != f.first_device_seen
    if unknown or newer:
        return "a device first used lately"
    return None


def _unusual_amount(rule: Rule, attempt: Attempt, f: Features, rates: RateSnapshot) -> str | None:
    if f.history_count < int(rule.params.get("min_history", 3)) or not f.history_average:
        return None
    if rates.usd_value(attempt.amount) < _usd_param(rule, "min_usd", 200):
        return None
    multiple = attempt.amount.amount_minor / f.history_average
    if multiple >= float(rule.params.get("multiple", 5)):
        return f"{multiple:.1f} times the usual send"
    return None


def _new_recipient(rule: Rule, attempt: Attempt, f: Features, rates: RateSnapshot) -> str | None:
    if f.paid_before:
        return None
    if rates.usd_value(attempt.amount) >= _usd_param(rule, "min_usd", 800):
        return "first payment to this recipient"
    return None


def _geo_jump(rule: Rule, attempt: Attempt, f: Features, rates: RateSnapshot) -> str | None:
    here = attempt.context.geo if attempt.context else None
    if here is None or f.last_latitude is None or f.last_longitude is None or not f.last_seen_at:
        return None
    km = distance_km((f.last_latitude, f.last_longitude), here)
    hours = max((attempt.now - f.last_seen_at).total_seconds() / 3600, 1 / 60)
    if km >= float(rule.params.get("min_km", 100)) and km / hours > float(
        rule.params.get("max_kmh", 900)
    ):
        return f"{km:,.0f} km from the last place in {hours * 60:,.0f} min"
    return None


def _blocklist(rule: Rule, attempt: Attempt, f: Features, rates: RateSnapshot) -> str | None:
    return f"on the blocklist: {', '.join(sorted(f.blocklisted))}" if f.blocklisted else None


CHECKS: dict[str, Check] = {
    "velocity_count": _velocity_count,
    "velocity_amount": _velocity_amount,
    "new_device_amount": _new_device_amount,
    "unusual_amount": _unusual_amount,
    "new_recipient": _new_recipient,
    "geo_jump": _geo_jump,
    "blocklist": _blocklist,
}


async def assess(
    conn: Connection,
    attempt: Attempt,
    rates: RateSnapshot,
    thresholds: Thresholds | None = None,
) -> Assessment:
    """Score `attempt` with the enabled rules; remember where the user was seen."""
    thresholds = thresholds or Thresholds.from_settings(get_settings().fraud)
    rules = await enabled_rules(conn)
    if not rules:
        return Assessment(Decision.ALLOW, 0)
    features = await _features(conn, attempt, rules)
    hits = []
    for rule in rules:
        detail = CHECKS[rule.kind](rule, attempt, features, rates)
        if detail is not None:
            hits.append(Hit(rule.code, rule.score, detail))
    if attempt.context is not None and attempt.context.geo is not None:
        await conn.execute(
            "INSERT INTO risk_location (user_id, latitude, longitude, seen_at) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET latitude = $2, "
            "longitude = $3, seen_at = $4",
            attempt.user_id,
            *attempt.context.geo,
            attempt.now,
        )
    score = sum(h.score for h in hits)
    if score >= thresholds.block:
        decision = Decision.BLOCK
    elif score >= thresholds.hold:
        decision = Decision.HOLD
    else:
        decision = Decision.ALLOW
    return Assessment(decision, score, hits)
