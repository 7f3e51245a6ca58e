"""A new user's checklist: what to do next, and what each step unlocks, in plain words.

Five steps, each done or not from what is already stored (nothing here is kept):

- verify the email address, and the phone number (codes sent by `wallet.users.verification`);
- set the transaction PIN (it confirms payments at a till);
- add money (any money in, or a balance);
- verify identity (KYC `basic`, then `full`): each level's limits, said as the limits page
  says them, from the configured policy (`WALLET_LIMITS`).

The checklist is done when every step is; the app stops showing it then.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from wallet.config import LevelLimits
from wallet.db.engine import connection
from wallet.limits.service import FULL_KYC_LEVELS, policy


class Step(Enum):
    VERIFY_EMAIL = "verify_email"
    VERIFY_PHONE = "verify_phone"
    SET_PIN = "set_pin"
    ADD_MONEY = "add_money"
    VERIFY_IDENTITY = "verify_identity"


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    step: Step
    done: bool
    title: str  # what to do
    unlocks: str  # what it gives, in plain words
    path: str  # where in the app it is done


@dataclass(frozen=True, slots=True)
class Checklist:
    items: list[ChecklistItem]

    @property
    def done(self) -> int:
        return sum(1 for item in self.items if item.done)

    @property
    def complete(self) -> bool:
        return self.done == len(self.items)


def limits_in_words(level: LevelLimits) -> str:
    """ "Send up to $1,000 at a time and $2,500 a day, and hold up to $10,000"."""
    send = level.by_scope["SEND"]
    words = (
        f"send up to {_whole(send.per_transaction.display())} at a time and "
        f"{_whole(send.daily.display())} a day"
    )
    cap = level.balance_cap
    return words + (
        f", and hold up to {_whole(cap.display())}" if cap else ", with no cap on your balance"
    )


def _whole(text: str) -> str:
    """$1,000.00 -> $1,000: limits are whole amounts."""
    return text[:-3] if text.endswith(".00") else text


async def checklist(user_id: int) -> Checklist:
    """The user's onboarding steps, in the order the app shows them."""
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT u.email_verified_at IS NOT NULL AS email, "
            "u.phone_verified_at IS NOT NULL AS phone, u.pin_hash IS NOT NULL AS pin, "
            "u.verification_level AS level, "
            "EXISTS (SELECT 1 FROM money_transaction t WHERE t.counterparty_user_id = u.id "
            "        OR (t.initiator_user_id = u.id AND t.type = 'add_money' "
            "            AND t.status = 'completed')) AS funded "
            "FROM app_user u WHERE u.id = $1",
            user_id,
        )
    levels = policy()
    level = row["level"]
    identity_done = level in FULL_KYC_LEVELS
    next_level = "basic" if level == "unverified" else "full"
    return Checklist(
        [
            ChecklistItem(
                Step.VERIFY_EMAIL,
                row["email"],
                "Verify your email",
                "Receipts and statements by email, and getting back into your account "
                "if you forget your password",
                "/profile/security",
            ),
            ChecklistItem(
                Step.VERIFY_PHONE,
                row["phone"],
                "Verify your phone",
                "Money sent to your number reaches you, and codes by text for signing in",
                "/profile/security",
            ),
            ChecklistItem(
                Step.SET_PIN,
                row["pin"],
                "Set your PIN",
                "Pay at a till by QR code or tap, confirmed with four to six digits",
                "/profile/security",
            ),
            ChecklistItem(
                Step.ADD_MONEY,
                row["funded"],
                "Add money",
                "Send, pay and split bills from your balance",
                "/pay/add",
            ),
            ChecklistItem(
                Step.VERIFY_IDENTITY,
                identity_done,
                "Verify your identity",
                (
                    f"Now you can {limits_in_words(levels[level])}"
                    if identity_done
                    else f"Today you can {limits_in_words(levels[level])}. Verified, you can "
                    f"{limits_in_words(levels[next_level])}"
                ),
                "/profile/limits",
            ),
        ]
    )
