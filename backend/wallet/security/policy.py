"""The step-up policy: which sensitive actions a session may take, and on what proof.

This module is the one home of those rules (docs/security.md, "Step-up policy"), as a
table of actions and a pure `decide` function, so the rules can be read and tested as a
table: (action x session state) -> allowed, or the proof still needed.

- Adding, replacing or removing a credential (a second factor, recovery codes, the
  password, email, phone, a card or bank account) needs a factor proven lately that
  was on file **before this session began**. A user with no such factor proves the
  password plus a code sent to the email or phone on file. So a session that has only
  the password cannot enrol its own second factor and vouch for itself with it.
- Money leaving the wallet (a withdrawal; a large send; any send from a session on a
  new device) needs any factor proven lately.
- Resetting a forgotten password (no session at all) takes the code sent to the
  verified email or phone and, when the account has a second factor, a proof of one of
  them in the same flow: the reset must not be a way around TOTP, a passkey or the PIN.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Factor(Enum):
    """A way to prove it is you. A recovery code proves TOTP."""

    PIN = "PIN"
    TOTP = "TOTP"
    PASSKEY = "PASSKEY"
    # The password plus a one-time code sent to the email or phone on file.
    CONTACT_CODE = "CONTACT_CODE"


class Need(Enum):
    # Any factor proven in the last few minutes.
    FRESH_PROOF = "fresh_proof"
    # A factor proven lately that was on file before the session began (or, with no
    # such factor, the password plus a code sent to the contact on file).
    PRE_SESSION_PROOF = "pre_session_proof"
    # A second factor on file proven lately; only an account with none passes on the
    # code sent to its contact (a contact code never stands in for a factor on file).
    FACTOR_ON_FILE = "factor_on_file"


class Action(Enum):
    ENROL_TOTP = "enrol_totp"
    DISABLE_TOTP = "disable_totp"
    ADD_PASSKEY = "add_passkey"
    REMOVE_PASSKEY = "remove_passkey"
    SET_PIN = "set_pin"
    CHANGE_PASSWORD = "change_password"  # noqa: S105 (an action name)
    CHANGE_EMAIL = "change_email"
    CHANGE_PHONE = "change_phone"
    ADD_PAYMENT_METHOD = "add_payment_method"
    REMOVE_PAYMENT_METHOD = "remove_payment_method"
    WITHDRAW = "withdraw"
    # Money leaving above the step-up amount, or any amount from a new device.
    MONEY_OUT = "money_out"
    # A forgotten password, replaced with a code sent to the verified contact.
    RESET_PASSWORD = "reset_password"  # noqa: S105 (an action name)


# The table. Every action above is in it (tests/unit/test_step_up_policy.py checks).
RULES: dict[Action, Need] = {
    Action.ENROL_TOTP: Need.PRE_SESSION_PROOF,
    Action.DISABLE_TOTP: Need.PRE_SESSION_PROOF,
    Action.ADD_PASSKEY: Need.PRE_SESSION_PROOF,
    Action.REMOVE_PASSKEY: Need.PRE_SESSION_PROOF,
    Action.SET_PIN: Need.PRE_SESSION_PROOF,
    Action.CHANGE_PASSWORD: Need.PRE_SESSION_PROOF,
    Action.CHANGE_EMAIL: Need.PRE_SESSION_PROOF,
    Action.CHANGE_PHONE: Need.PRE_SESSION_PROOF,
    Action.ADD_PAYMENT_METHOD: Need.PRE_SESSION_PROOF,
    Action.REMOVE_PAYMENT_METHOD: Need.PRE_SESSION_PROOF,
    Action.WITHDRAW: Need.FRESH_PROOF,
    Action.MONEY_OUT: Need.FRESH_PROOF,
    Action.RESET_PASSWORD: Need.FACTOR_ON_FILE,
}

# Words for "Confirm it is you to …".
WHY: dict[Action, str] = {
    Action.ENROL_TOTP: "set up an authenticator app",
    Action.DISABLE_TOTP: "turn the authenticator off",
    Action.ADD_PASSKEY: "add a passkey",
    Action.REMOVE_PASSKEY: "remove a passkey",
    Action.SET_PIN: "set your PIN",
    Action.CHANGE_PASSWORD: "change your password",
    Action.CHANGE_EMAIL: "change your email",
    Action.CHANGE_PHONE: "change your phone",
    Action.ADD_PAYMENT_METHOD: "link a card or bank account",
    Action.REMOVE_PAYMENT_METHOD: "remove a card or bank account",
    Action.WITHDRAW: "withdraw money",
    Action.MONEY_OUT: "send this much",
    Action.RESET_PASSWORD: "reset your password",
}


@dataclass(frozen=True, slots=True)
class FactorOnFile:
    factor: Factor
    # When it was set up (Unix seconds); None: before this was recorded, i.e. long ago.
    since: float | None


@dataclass(frozen=True, slots=True)
class Proof:
    """A factor proven in this session, and when."""

    factor: Factor
    at: float
    # The factor was on file before the session began. A contact code counts as such:
    # the email and phone on file can only change behind this same policy.
    pre_session: bool


@dataclass(frozen=True, slots=True)
class SessionState:
    started_at: float
    new_device: bool
    proofs: tuple[Proof, ...]


@dataclass(frozen=True, slots=True)
class Allowed:
    pass


@dataclass(frozen=True, slots=True)
class StepUp:
    """The session must prove one of `methods` first (then retry the same request)."""

    methods: tuple[Factor, ...]
    why: str


ALLOWED = Allowed()


def predates(on_file: FactorOnFile, session: SessionState) -> bool:
    return on_file.since is None or on_file.since < session.started_at


def _fresh(proof: Proof, now: float, fresh_seconds: float) -> bool:
    return now - proof.at <= fresh_seconds


def decide(
    action: Action,
    session: SessionState,
    factors: tuple[FactorOnFile, ...],
    *,
    now: float,
    fresh_seconds: float,
) -> Allowed | StepUp:
    """Whether `session` may take `action` now, or which proof it must give first."""
    need = RULES[action]
    fresh = [p for p in session.proofs if _fresh(p, now, fresh_seconds)]
    if need is Need.FRESH_PROOF:
        if fresh:
            return ALLOWED
        methods = tuple(f.factor for f in factors)
    elif need is Need.FACTOR_ON_FILE:
        on_file = {f.factor for f in factors} - {Factor.CONTACT_CODE}
        wanted = on_file or {Factor.CONTACT_CODE}
        if any(p.factor in wanted for p in fresh):
            return ALLOWED
        methods = tuple(f.factor for f in factors if f.factor in on_file)
    else:
        if any(p.pre_session for p in fresh):
            return ALLOWED
        methods = tuple(f.factor for f in factors if predates(f, session))
    return StepUp(methods or (Factor.CONTACT_CODE,), WHY[action])


def money_out_needs_proof(
    session: SessionState, amount_usd_minor: int, above_usd_minor: int
) -> bool:
    """Whether money leaving needs the MONEY_OUT step-up: any amount from a session on
    a new device, else amounts above the step-up threshold."""
    return session.new_device or amount_usd_minor > above_usd_minor
