"""Resetting a forgotten password (issue 18, item 5).

`request_reset` sends a 6-digit code to the account's verified email or phone: 15
minutes, usable once, replaced by the next; requests are limited per client IP and per
account, and the answer is the same for accounts that do not exist (the caller says
the same thing either way). `reset` takes the code and the new password and, when the
account has a second factor (PIN, TOTP, passkey), a proof of one of them in the same
flow, as `wallet.security.policy` rules (Action.RESET_PASSWORD): the reset must not be a
way around them. Then every session ends and a security alert goes out on every channel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

from wallet.auth.ratelimit import Limit, RateLimiter
from wallet.auth.sessions import SessionStore
from wallet.db.engine import transaction
from wallet.notifications.email import EmailProvider
from wallet.notifications.sms import SmsProvider
from wallet.security import alerts, passkeys, policy, stepup, totp
from wallet.security.policy import Factor, Proof, SessionState
from wallet.users import pin, verification
from wallet.users.models import User
from wallet.users.passwords import hash_password_in_pool, password_problems
from wallet.users.service import find_account, login_key
from wallet.users.verification import ContactChannel, WrongCode

RESET_CODE_SECONDS = 15 * 60
# Codes asked for: per client IP, and per account (whichever identifier was typed;
# unknown identifiers count on their own key, so the limit reveals nothing either).
REQUESTS_PER_IP = Limit("reset:ip", 20, 60 * 60)
REQUESTS_PER_ACCOUNT = Limit("reset:account", 5, 60 * 60)
# Tries at a code, per client IP, across accounts (each code also dies after 5 wrong).
TRIES_PER_IP = Limit("reset-try:ip", 30, 60 * 60)


class ResetRefused(Exception):
    """The reset cannot go ahead; `field` and `code` say what to fix."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


class FactorNeeded(Exception):
    """The account has a second factor: prove one of `methods` with the same code."""

    def __init__(self, methods: tuple[Factor, ...], why: str) -> None:
        super().__init__(f"Confirm it is you to {why}")
        self.methods = methods


@dataclass(frozen=True, slots=True)
class FactorAnswer:
    """A second factor proven within the reset: a PIN, a TOTP or recovery code, or a
    passkey's answer to `start_passkey_answer`'s challenge."""

    method: Factor
    code: str = ""
    passkey_challenge_id: str = ""
    passkey_credential: str = ""


async def request_reset(
    redis: Redis,
    limiter: RateLimiter,
    login: str,
    channel: ContactChannel,
    ip: str,
    *,
    email: EmailProvider,
    sms: SmsProvider,
) -> None:
    """Send the account named by `login` a reset code on `channel`, if that contact is
    verified. Raises `RateLimited` only on the IP's and the account's limits, which
    count unknown accounts alike; everything else passes in silence."""
    account = await find_account(login)
    subject = f"user:{account.user.id}" if account else f"login:{login_key(login)}"
    await limiter.consume_all([(REQUESTS_PER_IP, ip), (REQUESTS_PER_ACCOUNT, subject)])
    if account is None:
        return
    await verification.send_password_reset_code(
        redis, account.user, channel, RESET_CODE_SECONDS, email=email, sms=sms
    )


async def _account_with_code(
    redis: Redis, limiter: RateLimiter, login: str, code: str, ip: str
) -> User:
    """The account `login` names, once `code` is its current reset code (kept)."""
    await limiter.consume(TRIES_PER_IP, ip)
    account = await find_account(login)
    if account is None:
        raise WrongCode()
    await verification.check_password_reset_code(redis, account.user.id, code)
    return account.user


async def start_passkey_answer(
    redis: Redis,
    limiter: RateLimiter,
    rp: passkeys.RelyingParty,
    login: str,
    code: str,
    ip: str,
) -> tuple[str, str]:
    """(challenge id, options) for the account's passkeys to answer within a reset."""
    user = await _account_with_code(redis, limiter, login, code, ip)
    return await passkeys.authentication_options(redis, rp, user.id)


async def _prove(
    redis: Redis,
    limiter: RateLimiter,
    user_id: int,
    answer: FactorAnswer,
    rp: passkeys.RelyingParty | None,
    origin: str | None,
) -> Proof:
    """Check the answer (each factor's own attempt limits apply); the proof it gives."""
    if answer.method is Factor.PIN:
        await limiter.consume(totp.ATTEMPTS, str(user_id))
        await pin.verify_pin(user_id, answer.code)
        await limiter.refund(totp.ATTEMPTS, str(user_id))
    elif answer.method is Factor.TOTP:
        await totp.verify(user_id, answer.code, limiter)
    elif answer.method is Factor.PASSKEY and rp is not None:
        await passkeys.authenticate(
            redis,
            rp,
            answer.passkey_challenge_id,
            answer.passkey_credential,
            origin,
            expected_user=user_id,
        )
    else:
        raise ResetRefused("factor", "UNSUPPORTED", "Prove a second factor you have set up")
    return Proof(answer.method, time.time(), pre_session=True)


async def reset(
    redis: Redis,
    limiter: RateLimiter,
    sessions: SessionStore,
    login: str,
    code: str,
    new_password: str,
    ip: str,
    *,
    answer: FactorAnswer | None = None,
    rp: passkeys.RelyingParty | None = None,
    origin: str | None = None,
) -> User:
    """Put `new_password` on file for the account whose reset `code` this is.

    Raises `WrongCode` (wrong, used or expired code; unknown account), `ResetRefused`
    (a weak password), `FactorNeeded` (prove a second factor; the code stays valid),
    `RateLimited`, or a factor's own refusal (`pin.PinError`, `totp.TotpError`,
    `passkeys.PasskeyError`). Nothing changes unless everything checks out."""
    user = await _account_with_code(redis, limiter, login, code, ip)
    if problems := password_problems(new_password, username=user.username, email=user.email):
        raise ResetRefused("newPassword", "WEAK", "Password " + "; ".join(problems))
    factors = await stepup.factors_on_file(user.id)
    now = time.time()
    # The code just checked is the contact's proof; a factor on file needs its own.
    proofs = [Proof(Factor.CONTACT_CODE, now, pre_session=True)]
    if answer is not None:
        if answer.method not in {f.factor for f in factors}:
            raise ResetRefused("factor", "NOT_SET_UP", "You have not set up that factor")
        proofs.append(await _prove(redis, limiter, user.id, answer, rp, origin))
    decision = policy.decide(
        policy.Action.RESET_PASSWORD,
        SessionState(started_at=now, new_device=True, proofs=tuple(proofs)),
        factors,
        now=now,
        fresh_seconds=RESET_CODE_SECONDS,
    )
    if isinstance(decision, policy.StepUp):
        raise FactorNeeded(decision.methods, decision.why)
    # Used up here, once: of two resets racing with the same code, one wins.
    await verification.use_password_reset_code(redis, user.id, code)
    async with transaction() as conn:
        await conn.execute(
            "UPDATE app_user SET password_hash = $2 WHERE id = $1",
            user.id,
            await hash_password_in_pool(new_password),
        )
        await alerts.alert(
            conn,
            user.id,
            "password_reset",
            "Your password was reset",
            "Your wallet's password was reset with a code sent to you, and every session "
            "was signed out. If you did not do this, contact us at once.",
        )
    await sessions.revoke_others(user.id, None)
    return user
