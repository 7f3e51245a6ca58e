"""Referral amounts are configured as money with a currency, and refused when unusable."""

import pytest

from wallet.config import Settings
from wallet.money import Currency, Money
from wallet.rewards.referrals import ReferralRule, normalise_code


def test_referral_amounts_read_an_amount_and_its_currency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WALLET_REFERRAL_REFERRER_BONUS", "12.50 EUR")
    monkeypatch.setenv("WALLET_REFERRAL_MINIMUM", "25")
    monkeypatch.setenv("WALLET_REFERRAL_DAYS", "14")
    rule = ReferralRule.from_settings(Settings.from_env())
    assert rule == ReferralRule(
        Money(1_250, Currency.EUR), Money(500, Currency.USD), Money(2_500, Currency.USD), 14
    )


def test_a_zero_bonus_or_an_empty_window_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALLET_REFERRAL_REFERRED_BONUS", "0")
    monkeypatch.setenv("WALLET_REFERRAL_DAYS", "0")
    problems = Settings.from_env().problems()
    assert "WALLET_REFERRAL_REFERRED_BONUS must be more than zero" in problems
    assert "WALLET_REFERRAL_DAYS must be at least 1" in problems


def test_codes_are_read_as_people_type_them() -> None:
    assert normalise_code(" abcde-fghjk ") == "ABCDEFGHJK"
    assert normalise_code("0o1Il") == "00111"
