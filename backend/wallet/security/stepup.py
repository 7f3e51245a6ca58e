"""Step-up state: the factors a user has on file and the proofs a session has given.

Proving a factor (`StepUpStore.grant`, after a PIN, TOTP, recovery code, passkey or
password-plus-contact-code checks out) records a `policy.Proof` on the session (its
token is stored only as its SHA-256) for `seconds`. Whether an action may go ahead is
`wallet.security.policy.decide`'s call; this module supplies its inputs.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from wallet.auth.sessions import HashRead
from wallet.db.engine import connection
from wallet.errors import NeedsStepUp
from wallet.money import Money
from wallet.rates import SANDBOX_PER_USD, RateSnapshot
from wallet.security import policy
from wallet.security.policy import Factor, FactorOnFile, Proof, SessionState

# Values amounts when the caller has no rate snapshot at hand.
SANDBOX_RATES = RateSnapshot(dict(SANDBOX_PER_USD), datetime(2026, 1, 1, tzinfo=UTC))


class StepUpRequired(NeedsStepUp):
    def __init__(self, methods: list[str], why: str) -> None:
        super().__init__(f"Confirm it is you to {why}")
        self.methods = methods


def _key(session_token: str) -> str:
    return "stepup:" + hashlib.sha256(session_token.encode()).hexdigest()


class StepUpStore:
    def __init__(self, redis: Redis, seconds: int) -> None:
        self._redis = redis
        self.seconds = seconds

    async def grant(self, session_token: str, factor: Factor, *, pre_session: bool) -> Proof:
        proof = Proof(factor, time.time(), pre_session)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                _key(session_token),
                factor.value,
                json.dumps({"at": proof.at, "pre_session": pre_session}),
            )
            pipe.expire(_key(session_token), self.seconds)
            await pipe.execute()
        return proof

    async def proofs(self, session_token: str | None) -> tuple[Proof, ...]:
        """The proofs this session gave in the last `seconds`."""
        if not session_token:
            return ()
        return self._fresh(await self._redis.hgetall(_key(session_token)))

    def reader(self, session_token: str) -> HashRead[tuple[Proof, ...]]:
        """`proofs`, to be read in the session lookup's round trip (`resolve_with`)."""
        return HashRead(_key(session_token), self._fresh)

    def _fresh(self, raw: dict[bytes, bytes]) -> tuple[Proof, ...]:
        now = time.time()
        found = []
        for name, value in raw.items():
            data = json.loads(value)
            proof = Proof(Factor(name.decode()), float(data["at"]), bool(data["pre_session"]))
            if now - proof.at <= self.seconds:
                found.append(proof)
        return tuple(found)

    async def fresh(self, session_token: str | None) -> bool:
        return bool(await self.proofs(session_token))


async def factors_on_file(user_id: int) -> tuple[FactorOnFile, ...]:
    """The second factors the user has set up, each with when it was set up."""
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT u.pin_hash IS NOT NULL AS pin, u.pin_set_at, t.confirmed_at AS totp_at, "
            "(SELECT min(p.created_at) FROM user_passkey p WHERE p.user_id = u.id) AS passkey_at, "
            "EXISTS (SELECT 1 FROM user_passkey p WHERE p.user_id = u.id) AS passkey "
            "FROM app_user u LEFT JOIN user_totp t ON t.user_id = u.id WHERE u.id = $1",
            user_id,
        )
    if row is None:
        return ()
    found: list[FactorOnFile] = []
    if row["pin"]:
        found.append(FactorOnFile(Factor.PIN, _seconds(row["pin_set_at"])))
    if row["totp_at"] is not None:
        found.append(FactorOnFile(Factor.TOTP, _seconds(row["totp_at"])))
    if row["passkey"]:
        found.append(FactorOnFile(Factor.PASSKEY, _seconds(row["passkey_at"])))
    return tuple(found)


def _seconds(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()


async def methods_for(user_id: int) -> list[str]:
    """The second factors the user has set up: PIN, TOTP (recovery codes with TOTP),
    passkeys."""
    return [f.factor.value for f in await factors_on_file(user_id)]


async def step_up_methods(user_id: int) -> list[str]:
    """What the user can step up with: their factors, or with none, the password plus
    a code to the email or phone on file."""
    return await methods_for(user_id) or [Factor.CONTACT_CODE.value]


@dataclass(frozen=True, slots=True)
class LargeAmountCheck:
    """Money leaving a wallet: from a session on a new device, or above
    `above_usd_minor` (US cents, valued with `rates`), it needs a factor proven lately
    (`policy.Action.MONEY_OUT`).

    Commands on the runner (`wallet.commands`) call it through `Actor.require_step_up`
    in their policy, before anything is written; `send_money` calls `require` before
    its send is queued or run, and raises the refusal before the money moves.
    """

    session: SessionState
    above_usd_minor: int
    fresh_seconds: float
    rates: RateSnapshot | None = None

    @property
    def stepped_up(self) -> bool:
        now = time.time()
        return any(now - p.at <= self.fresh_seconds for p in self.session.proofs)

    async def require(self, user_id: int, amount: Money, why: str) -> None:
        value = (self.rates or SANDBOX_RATES).usd_value(amount)
        if not policy.money_out_needs_proof(self.session, value, self.above_usd_minor):
            return
        decision = policy.decide(
            policy.Action.MONEY_OUT,
            self.session,
            await factors_on_file(user_id),
            now=time.time(),
            fresh_seconds=self.fresh_seconds,
        )
        if isinstance(decision, policy.StepUp):
            raise StepUpRequired([m.value for m in decision.methods], why)
