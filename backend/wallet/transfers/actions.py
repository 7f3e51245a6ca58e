"""What a wallet may do now, and why not: the app disables an action with the reason on
it, instead of letting the person try and be refused.

The reasons follow the rules the commands apply (a wallet that is not active spends
nothing; a closed one takes nothing; a frozen one receives while the setting allows it),
so what the app says is what the command would answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from wallet.transfers.models import can_receive


class Action(Enum):
    SEND = "send"
    PAY = "pay"  # merchants: QR, tap, checkout, bills
    WITHDRAW = "withdraw"
    CONVERT = "convert"
    ADD = "add"
    REQUEST = "request"  # ask someone for money: it arrives here


SPENDING = (Action.SEND, Action.PAY, Action.WITHDRAW, Action.CONVERT)


@dataclass(frozen=True, slots=True)
class ActionState:
    action: Action
    allowed: bool
    reason: str | None  # why not, in plain words; None when allowed


def _why_not_spend(status: str, frozen_reason: str | None, restricted_reason: str | None) -> str:
    match status:
        case "frozen":
            told = f" ({frozen_reason})" if frozen_reason else ""
            return (
                f"Your wallet is frozen{told}, so no money can leave it. "
                "Contact support to have it reviewed."
            )
        case "restricted":
            told = f": {restricted_reason}" if restricted_reason else ""
            return f"Your wallet is restricted{told}. Money you receive settles what is owed."
        case "closed":
            return "Your wallet is closed."
        case _:
            return f"Your wallet is {status}."


def wallet_actions(
    status: str, frozen_reason: str | None = None, restricted_reason: str | None = None
) -> list[ActionState]:
    """Each money action of a wallet in `status`, allowed or with the reason it is not."""
    states = []
    for action in Action:
        if action in SPENDING:
            allowed = status == "active"
            reason = None if allowed else _why_not_spend(status, frozen_reason, restricted_reason)
        elif action is Action.ADD:
            allowed = status != "closed"
            reason = None if allowed else "Your wallet is closed."
        else:  # REQUEST: the money would arrive here
            allowed = can_receive(status)
            reason = None if allowed else _why_not_spend(status, frozen_reason, restricted_reason)
        states.append(ActionState(action, allowed, reason))
    return states
