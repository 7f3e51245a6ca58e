"""The configured numbers money policy is judged by, in one place services read.

Services apply these rules themselves (a job, a REST route or a test calling a service
meets the same ones as GraphQL), so they cannot wait for a resolver to pass them in.
The API (`Services.build`) and the worker set them from `Settings` at start-up; until
then they are `Settings`' defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from wallet.config import Settings
from wallet.money import Currency, Money

# `Settings.limits.cross_border_full_kyc`'s default.
CROSS_BORDER_FULL_KYC = Money(1_000 * 100, Currency.USD)


@dataclass(frozen=True, slots=True)
class MoneyRules:
    # How long a money request may last (and lasts unless the requester says).
    money_request_days: int = 30
    # Days an unregistered phone or email has to claim money sent to it.
    unclaimed_transfer_days: int = 14
    # How long a marketplace sale waits in buyer-protection escrow for delivery.
    buyer_protection_days: int = 14
    # Cross-currency sends above this need full verification.
    cross_border_full_kyc: Money = CROSS_BORDER_FULL_KYC

    @classmethod
    def from_settings(cls, settings: Settings) -> MoneyRules:
        return cls(
            money_request_days=settings.money_request_days,
            unclaimed_transfer_days=settings.unclaimed_transfer_days,
            buyer_protection_days=settings.buyer_protection_days,
            cross_border_full_kyc=settings.limits.cross_border_full_kyc,
        )


_current = MoneyRules()


def configure(rules: MoneyRules) -> None:
    global _current
    _current = rules


def current() -> MoneyRules:
    return _current
