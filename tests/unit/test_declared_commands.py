"""Every money command declared for the runner: a unique name (it is part of the key's
fingerprint, so two commands sharing one could replay each other's results) and the
refusals it may raise."""

from __future__ import annotations

from wallet.commands.runner import Command
from wallet.fx import service as fx
from wallet.goals import service as goals
from wallet.merchants import bills, checkout
from wallet.payments import funding
from wallet.requests import service as requests
from wallet.rewards import service as rewards
from wallet.splits import service as splits

MODULES = (fx, goals, bills, checkout, funding, requests, rewards, splits)


def declared() -> list[Command[object, object]]:
    return [
        value for module in MODULES for value in vars(module).values() if isinstance(value, Command)
    ]


def test_each_money_command_is_declared_once_under_its_own_name() -> None:
    names = [command.name for command in declared()]
    assert len(names) == len(set(names))
    assert set(names) >= {
        "requestMoney",
        "payMoneyRequest",
        "goalMove",
        "redeemPoints",
        "convert",
        "addMoney",
        "withdraw",
        "payBill",
        "settleUp",
        "payPaymentRequest",
        "refundPayment",
    }


def test_each_command_declares_its_refusals() -> None:
    for command in declared():
        assert command.refusals, command.name
        assert all(issubclass(r, Exception) for r in command.refusals), command.name
