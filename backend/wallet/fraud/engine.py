"""The fraud rules engine: scores a payment before it is posted (docs/security.md, "Fraud rules").

Rules are rows of `fraud_rule` (kind, parameters, score, on/off). Everything the rules
look at is read in one query (`features_of`, one row per attempt of a batch); each
enabled rule that matches adds its score (`score`, no database). A total at or above
the hold score holds the payment for review (money reserved, transaction PENDING); at
or above the block score it is refused.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
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
    history: tuple[int, ...]  # the latest payments' amounts in the currency, newest first
    paid_before: bool
    device_first_seen: datetime | None
    first_device_seen: datetime | None
    last_latitude: float | None
    last_longitude: float | None
    last_seen_at: datetime | None
    blocklisted: list[str]
    history_size: int = 50

    @property
    def history_count(self) -> int:
        return len(self.history)

    @property
    def history_average(self) -> float | None:
        return sum(self.history) / len(self.history) if self.history else None

    def after(self, earlier: Attempt, later: Attempt, *, completed: bool) -> Features:
        """These features once `earlier`, a payment by the same user accepted just
        before (in the same batch, not yet written), counts: what the database would
        return for `later` if it were read after `earlier` was written."""
        same_currency = earlier.amount.currency is later.amount.currency
        paid = earlier.recipient_id is not None and earlier.recipient_id == later.recipient_id
        geo = earlier.context.geo if earlier.context else None
        currency = earlier.amount.currency.value
        return replace(
            self,
            recent_count=self.recent_count + 1,
            recent_sums={
                **self.recent_sums,
                currency: self.recent_sums.get(currency, 0) + earlier.amount.amount_minor,
            },
            history=(
                (earlier.amount.amount_minor, *self.history)[: self.history_size]
                if same_currency
                else self.history
            ),
            paid_before=self.paid_before or (paid and completed),
            last_latitude=geo[0] if geo else self.last_latitude,
            last_longitude=geo[1] if geo else self.last_longitude,
            last_seen_at=earlier.now if geo else self.last_seen_at,
        )


# How many of the user's latest payments make their usual amount (`unusual_amount`'s
# `last` parameter overrides it).
HISTORY_SIZE = 50


def _window(rules: list[Rule], kind: str, key: str, default: float) -> float:
    values = [float(r.params.get(key, default)) for r in rules if r.kind == kind]
    return max(values) if values else 0.0


# Everything the rules look at, for each attempt of a batch (one row per attempt, in
# order): velocity reads the last hour or so; the usual amount reads at most the last
# `history_size` payments in the currency (an index range, newest first), so the cost of
# scoring does not grow with a user's history. Every branch is an index lookup, so
# PostgreSQL keeps one generic plan for the prepared statement instead of planning it
# again on each payment (planning cost a millisecond, more than running).
# The attempts come as arrays (a batch) or as one row of scalars: a single payment's
# statement then keeps its generic plan (an array of unknown length never would).
_ATTEMPT_COLUMNS = (
    "user_id, since, count_since, amount_since, currency, history_since, recipient_id, "
    "device, ip, merchant_id, contact, history_size"
)
_TYPES = [
    "bigint",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "text",
    "timestamptz",
    "bigint",
    "text",
    "text",
    "bigint",
    "text",
    "int",
]
_MANY = (
    "unnest("
    + ", ".join(f"${i}::{t}[]" for i, t in enumerate(_TYPES, 1))
    + f") WITH ORDINALITY AS a ({_ATTEMPT_COLUMNS}, n)"
)
_ONE = (
    "(VALUES ("
    + ", ".join(f"${i}::{t}" for i, t in enumerate(_TYPES, 1))
    + f", 1)) AS a ({_ATTEMPT_COLUMNS}, n)"
)
_FEATURES_SQL = """
SELECT f.* FROM {attempts}
CROSS JOIN LATERAL (
    WITH recent AS (
        SELECT currency, amount, created_at FROM money_transaction
        WHERE initiator_user_id = a.user_id AND type IN ('send', 'payment')
          AND created_at >= a.since AND status NOT IN ('failed', 'expired')
    ), history AS (
        SELECT amount FROM money_transaction
        WHERE initiator_user_id = a.user_id AND currency = a.currency
          AND created_at >= a.history_since
          AND type IN ('send', 'payment') AND status NOT IN ('failed', 'expired')
        ORDER BY created_at DESC LIMIT a.history_size
    ), recipient AS (
        SELECT id::text AS id, lower(email) AS email, phone FROM app_user
        WHERE id = coalesce(a.recipient_id,
                            (SELECT owner_user_id FROM merchant WHERE id = a.merchant_id))
    ), watched (kind, value) AS (
        VALUES ('device', a.device), ('ip', a.ip), ('email', lower(a.contact)),
               ('phone', a.contact)
        UNION ALL SELECT 'user', id FROM recipient
        UNION ALL SELECT 'email', email FROM recipient
        UNION ALL SELECT 'phone', phone FROM recipient
    )
    SELECT
      a.n,
      (SELECT count(*) FROM recent WHERE created_at >= a.count_since) AS recent_count,
      (SELECT coalesce(jsonb_object_agg(currency, total), '{}'::jsonb)::text
         FROM (SELECT currency, sum(amount) AS total FROM recent
               WHERE created_at >= a.amount_since GROUP BY currency) s) AS recent_sums,
      (SELECT coalesce(array_agg(amount), '{}') FROM history) AS history,
      -- Driven by the payer's rows (`+ 0` keeps the planner off the payee's index): a
      -- payee can be hot, with a row for every customer, and the generic plan would
      -- otherwise AND both indexes, reading all of them on every payment.
      CASE WHEN a.merchant_id IS NOT NULL THEN EXISTS (
               SELECT 1 FROM money_transaction WHERE merchant_id + 0 = a.merchant_id
               AND initiator_user_id = a.user_id AND status = 'completed')
           WHEN a.recipient_id IS NOT NULL THEN EXISTS (
               SELECT 1 FROM money_transaction WHERE counterparty_user_id + 0 = a.recipient_id
               AND initiator_user_id = a.user_id AND status = 'completed')
           ELSE EXISTS (
               SELECT 1 FROM money_transaction WHERE recipient_contact = a.contact
               AND initiator_user_id = a.user_id AND status = 'completed') END AS paid_before,
      (SELECT first_seen FROM user_device WHERE user_id = a.user_id AND fingerprint = a.device)
         AS device_first_seen,
      (SELECT min(first_seen) FROM user_device WHERE user_id = a.user_id) AS first_device_seen,
      l.latitude, l.longitude, l.seen_at,
      (SELECT coalesce(array_agg(DISTINCT b.kind), '{}') FROM fraud_blocklist b
         JOIN watched w ON (b.kind, b.value) = (w.kind, w.value)) AS blocklisted
    FROM (SELECT 1) one LEFT JOIN risk_location l ON l.user_id = a.user_id
) f
ORDER BY a.n
"""
_FEATURES_ONE = _FEATURES_SQL.replace("{attempts}", _ONE)
_FEATURES_MANY = _FEATURES_SQL.replace("{attempts}", _MANY)


async def features_of(
    conn: Connection, attempts: Sequence[Attempt], rules: list[Rule]
) -> list[Features]:
    """What the rules need to know about each attempt, as the database stands (one
    query, whatever the number of attempts)."""
    count_window = _window(rules, "velocity_count", "window_seconds", 600)
    amount_window = _window(rules, "velocity_amount", "window_seconds", 3600)
    history_days = _window(rules, "unusual_amount", "days", 90)
    history_size = int(_window(rules, "unusual_amount", "last", HISTORY_SIZE))
    contexts = [a.context or RiskContext() for a in attempts]
    columns: list[list[Any]] = [
        [a.user_id for a in attempts],
        [a.now - timedelta(seconds=max(count_window, amount_window, 1)) for a in attempts],
        [a.now - timedelta(seconds=count_window) for a in attempts],
        [a.now - timedelta(seconds=amount_window) for a in attempts],
        [a.amount.currency.value for a in attempts],
        [a.now - timedelta(days=history_days) for a in attempts],
        [a.recipient_id for a in attempts],
        [c.device for c in contexts],
        [c.ip for c in contexts],
        [a.merchant_id for a in attempts],
        [a.recipient_contact for a in attempts],
        [history_size] * len(attempts),
    ]
    if len(attempts) == 1:
        rows = await conn.fetch(_FEATURES_ONE, *(column[0] for column in columns))
    else:
        rows = await conn.fetch(_FEATURES_MANY, *columns)
    return [
        Features(
            recent_count=int(row["recent_count"]),
            recent_sums={k: int(v) for k, v in json.loads(row["recent_sums"]).items()},
            history=tuple(int(v) for v in row["history"]),
            paid_before=bool(row["paid_before"]),
            device_first_seen=row["device_first_seen"],
            first_device_seen=row["first_device_seen"],
            last_latitude=row["latitude"],
            last_longitude=row["longitude"],
            last_seen_at=row["seen_at"],
            blocklisted=list(row["blocklisted"]),
            history_size=history_size,
        )
        for row in rows
    ]


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


def score(
    rules: list[Rule],
    attempt: Attempt,
    features: Features,
    rates: RateSnapshot,
    thresholds: Thresholds | None = None,
) -> Assessment:
    """The rules' verdict on `attempt`, given what is known about it (no database)."""
    thresholds = thresholds or Thresholds.from_settings(get_settings().fraud)
    hits = []
    for rule in rules:
        detail = CHECKS[rule.kind](rule, attempt, features, rates)
        if detail is not None:
            hits.append(Hit(rule.code, rule.score, detail))
    total = sum(h.score for h in hits)
    if total >= thresholds.block:
        decision = Decision.BLOCK
    elif total >= thresholds.hold:
        decision = Decision.HOLD
    else:
        decision = Decision.ALLOW
    return Assessment(decision, total, hits)


async def remember_locations(conn: Connection, attempts: Sequence[Attempt]) -> None:
    """Where each user was last seen, from the attempts that said (the last one wins)."""
    seen: dict[int, tuple[tuple[float, float], datetime]] = {}
    for a in attempts:
        if a.context is not None and a.context.geo is not None:
            seen[a.user_id] = (a.context.geo, a.now)
    if not seen:
        return
    await conn.execute(
        "INSERT INTO risk_location (user_id, latitude, longitude, seen_at) "
        "SELECT * FROM unnest($1::bigint[], $2::float8[], $3::float8[], $4::timestamptz[]) "
        "ON CONFLICT (user_id) DO UPDATE SET latitude = excluded.latitude, "
        "longitude = excluded.longitude, seen_at = excluded.seen_at",
        list(seen),
        [geo[0] for geo, _ in seen.values()],
        [geo[1] for geo, _ in seen.values()],
        [at for _, at in seen.values()],
    )


async def assess(
    conn: Connection,
    attempt: Attempt,
    rates: RateSnapshot,
    thresholds: Thresholds | None = None,
) -> Assessment:
    """Score `attempt` with the enabled rules; remember where the user was seen."""
    rules = await enabled_rules(conn)
    if not rules:
        return Assessment(Decision.ALLOW, 0)
    (features,) = await features_of(conn, [attempt], rules)
    assessment = score(rules, attempt, features, rates, thresholds)
    await remember_locations(conn, [attempt])
    return assessment
