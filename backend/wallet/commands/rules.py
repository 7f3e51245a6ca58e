"""The configured numbers money policy is judged by, in one place services read.

Services apply these rules themselves (a job, a REST route or a test calling a service
meets the same ones as GraphQL), so they cannot wait for a resolver to pass them in.
They are a view of the process settings (`get_settings()`); a test may override them.
"""

from __future__ import annotations

from dataclasses import dataclass

from wallet.config import Settings, get_settings
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
            money_request_days=settings.requests.money_request_days,
            unclaimed_transfer_days=settings.transfers.unclaimed_transfer_days,
            buyer_protection_days=settings.merchants.buyer_protection_days,
            cross_border_full_kyc=settings.limits.cross_border_full_kyc,
        )


_override: MoneyRules | None = None


def configure(rules: MoneyRules | None) -> None:
    """Judge by `rules` instead of the process settings (tests); None goes back."""
    global _override
    _override = rules


_derived: tuple[Settings, MoneyRules] | None = None


def current() -> MoneyRules:
    """The rules as configured: the process settings (`get_settings()`, read once), made
    into rules once per settings object rather than on every send."""
    global _derived
    if _override is not None:
        return _override
    settings = get_settings()
    if _derived is None or _derived[0] is not settings:
        _derived = (settings, MoneyRules.from_settings(settings))
    return _derived[1]
