"""Who is acting: a signed-in user, a merchant's API key, or the system (jobs).

An `Actor` is built once per request by the API (`wallet.api.graphql.context`) and
passed to services, which never see GraphQL or HTTP. It carries what policy needs to
know of the request: the session's step-up state, the device and the risk context. A
job or a test builds one with `Actor.user(id)`: a session with nothing proven, so it
meets the same rules as a client that proved nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from enum import Enum

from wallet.config import get_settings
from wallet.fraud.engine import RiskContext
from wallet.fraud.service import Screening
from wallet.money import Money
from wallet.security import policy
from wallet.security.policy import SessionState
from wallet.security.stepup import LargeAmountCheck, StepUpRequired, factors_on_file


class ActorKind(Enum):
    USER = "user"
    # A job carrying out a standing instruction its user gave (and stepped up for) when
    # they made it: a scheduled bill payment.
    STANDING_ORDER = "standing_order"
    MERCHANT_KEY = "merchant_key"
    SYSTEM = "system"


class NotAUser(Exception):
    """A command that only a signed-in person may run was asked by something else."""

    def __init__(self) -> None:
        super().__init__("Log in first")


def _no_proof_session() -> SessionState:
    return SessionState(started_at=time.time(), new_device=False, proofs=())


def _default_step_up() -> LargeAmountCheck:
    """For actors built outside a request (jobs, tests, the CLI): the configured rule."""
    step_up = get_settings().step_up
    return LargeAmountCheck(
        session=_no_proof_session(),
        above_usd_minor=step_up.send_above.amount_minor,
        fresh_seconds=float(step_up.seconds),
    )


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    user_id: int | None = None
    # Set for a merchant API key (the merchant it acts for).
    merchant_id: int | None = None
    # The session's step-up state with the thresholds it is judged by.
    step_up: LargeAmountCheck = field(default_factory=_default_step_up)
    risk: RiskContext = field(default_factory=RiskContext)

    @classmethod
    def user(
        cls,
        user_id: int,
        *,
        step_up: LargeAmountCheck | None = None,
        risk: RiskContext | None = None,
    ) -> Actor:
        return cls(
            ActorKind.USER,
            user_id=user_id,
            step_up=step_up or _default_step_up(),
            risk=risk or RiskContext(),
        )

    @classmethod
    def stepped_up_user(cls, user_id: int, factor: policy.Factor = policy.Factor.PIN) -> Actor:
        """A user whose session proved `factor` just now (tests, benchmarks, tools that
        checked the factor themselves)."""
        proof = policy.Proof(factor, time.time(), pre_session=True)
        session = SessionState(started_at=time.time(), new_device=False, proofs=(proof,))
        return cls.user(user_id, step_up=replace(_default_step_up(), session=session))

    @classmethod
    def standing_order(cls, user_id: int) -> Actor:
        return cls(ActorKind.STANDING_ORDER, user_id=user_id)

    @classmethod
    def merchant_key(cls, merchant_id: int) -> Actor:
        return cls(ActorKind.MERCHANT_KEY, merchant_id=merchant_id)

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorKind.SYSTEM)

    @property
    def device(self) -> str | None:
        return self.risk.device

    @property
    def principal(self) -> str:
        """The idempotency scope of this actor's own keys."""
        match self.kind:
            case ActorKind.USER | ActorKind.STANDING_ORDER:
                return f"user:{self.user_id}"
            case ActorKind.MERCHANT_KEY:
                return f"merchant:{self.merchant_id}"
            case ActorKind.SYSTEM:
                return "system"

    def require_user(self) -> int:
        """The user acting, or on whose standing instruction a job acts."""
        if self.kind not in (ActorKind.USER, ActorKind.STANDING_ORDER) or self.user_id is None:
            raise NotAUser()
        return self.user_id

    @property
    def stepped_up(self) -> bool:
        """A second factor was proven lately in this session."""
        return self.step_up.stepped_up

    def screening(self) -> Screening:
        """What this actor's request gives the fraud rules: its risk context, the rates
        its step-up state was valued with, and whether a factor was proven lately."""
        return Screening(self.risk, self.step_up.rates, proven=self.stepped_up)

    async def require_step_up(self, amount: Money, why: str) -> None:
        """Money leaving this user's wallet: above the threshold, or from a new device,
        a factor proven lately, or `StepUpRequired`. A standing order was stepped up for
        when it was made."""
        user_id = self.require_user()
        if self.kind is ActorKind.STANDING_ORDER:
            return
        await self.step_up.require(user_id, amount, why)

    async def require(self, action: policy.Action) -> None:
        """The step-up policy allows `action` to this session, or `StepUpRequired`."""
        decision = policy.decide(
            action,
            self.step_up.session,
            await factors_on_file(self.require_user()),
            now=time.time(),
            fresh_seconds=self.step_up.fresh_seconds,
        )
        if isinstance(decision, policy.StepUp):
            raise StepUpRequired([m.value for m in decision.methods], decision.why)
