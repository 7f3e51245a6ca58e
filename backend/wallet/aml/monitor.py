"""AML monitoring over committed transactions (docs/security.md, "AML").

The worker runs `run` every half minute. It looks at the users whose completed
transactions changed since the last run (a cursor, with a minute of overlap: detectors
are idempotent because a user has at most one live case per detector) and at KYC
profiles written since then, and runs the detectors:

- structuring: several amounts just under the reporting threshold within days;
- rapid in-and-out: money received and nearly all of it moved on within a day;
- fan-in / fan-out: many different senders to, or recipients from, one user in a day;
- sanctions: the verified legal name is close to a name on the (sandbox) list. KYC
  also screens a person synchronously when they submit their identity
  (`screen_person`), so a possible match never gets a level granted first. After a
  name joins the list, every verified person is screened again. A sanctions case
  freezes the person's wallet until cleared (`wallet.aml.cases`), and a match a
  compliance officer cleared is not raised again for the same listed name while the
  person's identity stays the one it was cleared for.

Amounts are valued in US dollars at the current mid rate.
"""

from __future__ import annotations

import difflib
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from wallet.aml import cases
from wallet.config import AmlThresholds, get_settings
from wallet.db.engine import Connection, transaction
from wallet.limits import service as limits
from wallet.money import Currency, Money
from wallet.rates import RateSnapshot
from wallet.security.keys import keyring

# The thresholds are configuration (WALLET_AML, `wallet.config.AmlThresholds`).
Thresholds = AmlThresholds


@dataclass(frozen=True, slots=True)
class Finding:
    user_id: int
    detector: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Movement:
    id: int
    type: str
    initiator: int | None
    counterparty: int | None
    usd_cents: int
    at: datetime


async def _movements(
    conn: Connection, user_id: int, since: datetime, rates: RateSnapshot
) -> list[Movement]:
    rows = await conn.fetch(
        "SELECT id, type, initiator_user_id, counterparty_user_id, amount, currency, created_at "
        "FROM money_transaction WHERE status = 'completed' AND created_at >= $2 "
        "AND type IN ('send', 'add', 'withdrawal', 'payment') "
        "AND (initiator_user_id = $1 OR counterparty_user_id = $1) ORDER BY created_at, id",
        user_id,
        since,
    )
    return [
        Movement(
            int(r["id"]),
            r["type"],
            r["initiator_user_id"],
            r["counterparty_user_id"],
            rates.usd_value(Money(int(r["amount"]), Currency(r["currency"]))),
            r["created_at"],
        )
        for r in rows
    ]


def _dollars(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def structuring(
    user_id: int, moves: list[Movement], now: datetime, t: Thresholds
) -> Finding | None:
    since = now - timedelta(days=t.structuring_days)
    high = t.reporting.amount_minor
    low = high * t.structuring_band
    near = [
        m for m in moves if m.initiator == user_id and m.at >= since and low <= m.usd_cents < high
    ]
    if len(near) < t.structuring_count:
        return None
    return Finding(
        user_id,
        "structuring",
        f"{len(near)} amounts just under {_dollars(high)} in {t.structuring_days} days "
        f"({_dollars(sum(m.usd_cents for m in near))} in all)",
        {"transaction_ids": [m.id for m in near]},
    )


def _incoming(user_id: int, m: Movement) -> bool:
    return (m.type == "send" and m.counterparty == user_id) or (
        m.type == "add" and m.initiator == user_id
    )


def _outgoing(user_id: int, m: Movement) -> bool:
    return m.initiator == user_id and m.type in ("send", "withdrawal", "payment")


def rapid_in_out(
    user_id: int, moves: list[Movement], now: datetime, t: Thresholds
) -> Finding | None:
    window = [m for m in moves if m.at >= now - timedelta(hours=t.rapid_hours)]
    ins = [m for m in window if _incoming(user_id, m)]
    if not ins:
        return None
    first_in = ins[0].at
    outs = [m for m in window if _outgoing(user_id, m) and m.at >= first_in]
    received, moved_on = sum(m.usd_cents for m in ins), sum(m.usd_cents for m in outs)
    if received < t.rapid_min.amount_minor or moved_on < received * t.rapid_share:
        return None
    return Finding(
        user_id,
        "rapid_in_out",
        f"{_dollars(received)} received and {_dollars(moved_on)} moved on within "
        f"{t.rapid_hours} hours",
        {"transaction_ids": [m.id for m in ins + outs]},
    )


def fan(user_id: int, moves: list[Movement], now: datetime, t: Thresholds) -> list[Finding]:
    since = now - timedelta(hours=t.fan_hours)
    sends = [m for m in moves if m.type == "send" and m.at >= since]
    findings = []
    senders = {m.initiator for m in sends if m.counterparty == user_id}
    if len(senders) >= t.fan_count:
        findings.append(
            Finding(
                user_id,
                "fan_in",
                f"Money from {len(senders)} different people in {t.fan_hours} hours",
                {"transaction_ids": [m.id for m in sends if m.counterparty == user_id]},
            )
        )
    recipients = {m.counterparty for m in sends if m.initiator == user_id}
    if len(recipients) >= t.fan_count:
        findings.append(
            Finding(
                user_id,
                "fan_out",
                f"Money to {len(recipients)} different people in {t.fan_hours} hours",
                {"transaction_ids": [m.id for m in sends if m.initiator == user_id]},
            )
        )
    return findings


def normalise_name(name: str) -> str:
    """Lower case, accents and punctuation removed, words sorted."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = "".join(c if c.isalpha() else " " for c in plain).split()
    return " ".join(sorted(words))


def name_similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, normalise_name(a), normalise_name(b)).ratio()


async def sanctions(conn: Connection, user_id: int, t: Thresholds) -> Finding | None:
    sealed = await conn.fetchval("SELECT legal_name FROM kyc_profile WHERE user_id = $1", user_id)
    if sealed is None:
        return None
    name = keyring().decrypt(sealed, f"kyc:{user_id}:legal_name")
    best: tuple[float, Any] | None = None
    for entry in await conn.fetch("SELECT id, name, program FROM sanctions_entry"):
        score = name_similarity(name, entry["name"])
        if score >= t.sanctions_similarity and (best is None or score > best[0]):
            best = (score, entry)
    if best is None:
        return None
    score, entry = best
    return Finding(
        user_id,
        "sanctions",
        f"The verified name is close to a sanctioned name ({entry['program']}, {score:.0%} alike)",
        {"entry_id": int(entry["id"]), "listed_name": entry["name"], "similarity": round(score, 3)},
    )


async def detect(
    conn: Connection, user_id: int, now: datetime, rates: RateSnapshot, t: Thresholds
) -> list[Finding]:
    """Every transaction detector for one user."""
    horizon = max(timedelta(days=t.structuring_days), timedelta(hours=t.rapid_hours))
    moves = await _movements(conn, user_id, now - horizon, rates)
    found = [
        f for f in (structuring(user_id, moves, now, t), rapid_in_out(user_id, moves, now, t)) if f
    ]
    return found + fan(user_id, moves, now, t)


async def _cleared_before(conn: Connection, f: Finding) -> bool:
    """Whether compliance already cleared this person against this listed name, for the
    identity they have now (a clearance made after their latest identity submission)."""
    # The identity's date is the latest basic review's (KYC writes one per submission).
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM aml_case WHERE user_id = $1 AND detector = 'sanctions' "
            "AND cleared_at IS NOT NULL AND evidence->>'entry_id' = $2 AND cleared_at > "
            "coalesce((SELECT max(created_at) FROM kyc_review WHERE user_id = $1 "
            "AND requested_level = 'basic'), '-infinity'))",
            f.user_id,
            str(f.evidence["entry_id"]),
        )
    )


async def open_cases(
    conn: Connection, findings: list[Finding], *, new_identity: bool = False
) -> list[int]:
    """A case per finding, unless that user already has a live case for it. A sanctions
    case freezes the person's wallet; a match cleared for the person's current identity
    is not raised again (`new_identity`: the identity is being submitted now, so no
    earlier clearance covers it)."""
    opened = []
    for f in sorted(findings, key=lambda f: f.user_id):
        if f.detector == cases.SANCTIONS:
            # Sorted above: a pass that locks several people takes them in one order.
            await cases.lock_person(conn, f.user_id)
            if not new_identity and await _cleared_before(conn, f):
                continue
        case_id = await conn.fetchval(
            "INSERT INTO aml_case (user_id, detector, summary, evidence) "
            "VALUES ($1, $2, $3, $4::jsonb) "
            "ON CONFLICT (user_id, detector) WHERE status IN ('open', 'escalated') DO NOTHING "
            "RETURNING id",
            f.user_id,
            f.detector,
            f.summary,
            json.dumps(f.evidence),
        )
        if case_id is not None:
            opened.append(int(case_id))
            if f.detector == cases.SANCTIONS:
                await cases.restrict(conn, f.user_id, int(case_id))
    return opened


async def screen_person(
    conn: Connection, user_id: int, thresholds: Thresholds | None = None
) -> int | None:
    """Screen a person's identity as they submit it, inside KYC's transaction (which
    holds the person locked): on a possible match open a sanctions case (and freeze).
    Returns the person's open sanctions case, new or earlier, or None."""
    hit = await sanctions(conn, user_id, thresholds or get_settings().aml.thresholds)
    if hit is not None:
        await open_cases(conn, [hit], new_identity=True)
    return await cases.open_sanctions_case(conn, user_id)


async def run(now: datetime | None = None, thresholds: Thresholds | None = None) -> list[int]:
    """One monitoring pass; returns the ids of cases it opened."""
    now = now or datetime.now(UTC)
    t = thresholds or get_settings().aml.thresholds
    rates = await limits.rates()
    async with transaction() as conn:
        # One pass at a time: the cursor row is the lock.
        scanned_to = await conn.fetchval(
            "SELECT scanned_to FROM aml_monitor_cursor WHERE id = 1 FOR UPDATE"
        )
        since = scanned_to - timedelta(minutes=1)
        users = await conn.fetch(
            "SELECT DISTINCT u AS user_id FROM money_transaction, "
            "unnest(ARRAY[initiator_user_id, counterparty_user_id]) AS u "
            "WHERE status = 'completed' AND updated_at > $1 AND updated_at <= $2 "
            "AND u IS NOT NULL ORDER BY 1",
            since,
            now,
        )
        findings: list[Finding] = []
        for row in users:
            findings += await detect(conn, int(row["user_id"]), now, rates, t)
        # A name added to the list is checked against everyone, not only new profiles.
        listed = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM sanctions_entry WHERE added_at > $1 AND added_at <= $2)",
            since,
            now,
        )
        profiles = await conn.fetch(
            "SELECT user_id FROM kyc_profile WHERE $3 OR (updated_at > $1 AND updated_at <= $2)",
            since,
            now,
            listed,
        )
        for row in profiles:
            hit = await sanctions(conn, int(row["user_id"]), t)
            if hit is not None:
                findings.append(hit)
        opened = await open_cases(conn, findings)
        await conn.execute("UPDATE aml_monitor_cursor SET scanned_to = $1 WHERE id = 1", now)
    return opened
