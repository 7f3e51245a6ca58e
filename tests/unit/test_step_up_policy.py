"""The step-up policy as a table: (action x session state) -> allowed, or the proof needed.

Written independently of `policy.RULES`: the credential actions and the money actions
are listed here by hand, and every combination with every session state is checked.
"""

from __future__ import annotations

import pytest

from wallet.security.policy import (
    ALLOWED,
    RULES,
    Action,
    Factor,
    FactorOnFile,
    Proof,
    SessionState,
    StepUp,
    decide,
    money_out_needs_proof,
)

NOW = 10_000.0
FRESH = 300.0
SESSION_START = 9_000.0

# Adding, replacing or removing a credential: needs a factor from before the session.
CREDENTIALS = {
    Action.ENROL_TOTP,
    Action.DISABLE_TOTP,
    Action.ADD_PASSKEY,
    Action.REMOVE_PASSKEY,
    Action.SET_PIN,
    Action.CHANGE_PASSWORD,
    Action.CHANGE_EMAIL,
    Action.CHANGE_PHONE,
    Action.ADD_PAYMENT_METHOD,
    Action.REMOVE_PAYMENT_METHOD,
}
# Money leaving: any factor proven lately.
MONEY = {Action.WITHDRAW, Action.MONEY_OUT}
# A forgotten password (no session): a factor on file, or with none the contact code.
RESET = {Action.RESET_PASSWORD}

PIN_BEFORE = FactorOnFile(Factor.PIN, SESSION_START - 100)
PIN_LONG_AGO = FactorOnFile(Factor.PIN, None)
TOTP_IN_SESSION = FactorOnFile(Factor.TOTP, SESSION_START + 100)


def session(*proofs: Proof, new_device: bool = False) -> SessionState:
    return SessionState(started_at=SESSION_START, new_device=new_device, proofs=proofs)


# name -> (session, factors on file)
STATES: dict[str, tuple[SessionState, tuple[FactorOnFile, ...]]] = {
    "password only, no factors": (session(), ()),
    "password only, new device, no factors": (session(new_device=True), ()),
    "password only, has a PIN": (session(), (PIN_BEFORE,)),
    "password only, new device, has a PIN": (session(new_device=True), (PIN_BEFORE,)),
    "proved the PIN it had before": (
        session(Proof(Factor.PIN, NOW - 10, pre_session=True)),
        (PIN_BEFORE,),
    ),
    "proved a PIN from before the policy": (
        session(Proof(Factor.PIN, NOW - 10, pre_session=True)),
        (PIN_LONG_AGO,),
    ),
    "proved a TOTP it enrolled itself": (
        session(Proof(Factor.TOTP, NOW - 10, pre_session=False)),
        (TOTP_IN_SESSION,),
    ),
    "proved a TOTP it enrolled itself, also has a PIN": (
        session(Proof(Factor.TOTP, NOW - 10, pre_session=False)),
        (PIN_BEFORE, TOTP_IN_SESSION),
    ),
    "proved the PIN too long ago": (
        session(Proof(Factor.PIN, NOW - FRESH - 1, pre_session=True)),
        (PIN_BEFORE,),
    ),
    "proved password plus emailed code": (
        session(Proof(Factor.CONTACT_CODE, NOW - 10, pre_session=True)),
        (),
    ),
    "proved an emailed code, has a PIN": (
        session(Proof(Factor.CONTACT_CODE, NOW - 10, pre_session=True)),
        (PIN_BEFORE,),
    ),
}

# name -> (outcome for credentials, for money, for a password reset); a tuple is the
# methods asked for.
EXPECTED: dict[str, tuple[object, object, object]] = {
    "password only, no factors": (("CONTACT_CODE",), ("CONTACT_CODE",), ("CONTACT_CODE",)),
    "password only, new device, no factors": (
        ("CONTACT_CODE",),
        ("CONTACT_CODE",),
        ("CONTACT_CODE",),
    ),
    "password only, has a PIN": (("PIN",), ("PIN",), ("PIN",)),
    "password only, new device, has a PIN": (("PIN",), ("PIN",), ("PIN",)),
    "proved the PIN it had before": (ALLOWED, ALLOWED, ALLOWED),
    "proved a PIN from before the policy": (ALLOWED, ALLOWED, ALLOWED),
    # The attack of finding 1: its own new factor vouches for money, never credentials.
    "proved a TOTP it enrolled itself": (("CONTACT_CODE",), ALLOWED, ALLOWED),
    "proved a TOTP it enrolled itself, also has a PIN": (("PIN",), ALLOWED, ALLOWED),
    "proved the PIN too long ago": (("PIN",), ("PIN",), ("PIN",)),
    "proved password plus emailed code": (ALLOWED, ALLOWED, ALLOWED),
    # Issue 18: a code to the email alone never resets past a second factor.
    "proved an emailed code, has a PIN": (ALLOWED, ALLOWED, ("PIN",)),
}


def test_every_action_is_in_the_table_and_classified() -> None:
    assert set(RULES) == set(Action) == CREDENTIALS | MONEY | RESET
    assert not CREDENTIALS & MONEY and not RESET & (CREDENTIALS | MONEY)


@pytest.mark.parametrize("state", sorted(STATES))
@pytest.mark.parametrize("action", sorted(Action, key=lambda a: a.value))
def test_decision_table(action: Action, state: str) -> None:
    current, factors = STATES[state]
    credential_outcome, money_outcome, reset_outcome = EXPECTED[state]
    expected = (
        credential_outcome
        if action in CREDENTIALS
        else reset_outcome
        if action in RESET
        else money_outcome
    )
    decision = decide(action, current, factors, now=NOW, fresh_seconds=FRESH)
    if expected is ALLOWED:
        assert decision is ALLOWED
    else:
        assert isinstance(decision, StepUp)
        assert tuple(m.value for m in decision.methods) == expected


def test_money_from_a_new_device_needs_proof_at_any_amount() -> None:
    assert money_out_needs_proof(session(new_device=True), 1, 50_000)
    assert not money_out_needs_proof(session(), 50_000, 50_000)
    assert money_out_needs_proof(session(), 50_001, 50_000)
