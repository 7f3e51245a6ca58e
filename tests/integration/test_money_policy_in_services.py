"""Money policy lives in the services: a caller that is not GraphQL (a job, a REST
route, a test) meets the same step-up, limits and configured rules, and a refusal
leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.integration.test_bill_payments import payer_with_saved_biller
from tests.ledger_helpers import wallet_cents
from tests.merchant_helpers import shop
from wallet.commands import rules
from wallet.commands.actor import Actor
from wallet.db.engine import connection
from wallet.gateway.sandbox import SandboxGateway
from wallet.merchants import bills, checkout
from wallet.merchants.service import staff_principal
from wallet.money import Currency, Money
from wallet.payments import funding, methods
from wallet.requests import service as requests
from wallet.requests.errors import RequestExpiryOutOfRange
from wallet.security.stepup import StepUpRequired
from wallet.users.pin import PinRequired, WrongPin

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")


async def transactions_of(user_id: int) -> int:
    async with connection() as conn:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM money_transaction WHERE initiator_user_id = $1", user_id
            )
        )


async def test_a_withdrawal_by_a_service_caller_needs_step_up_and_writes_nothing(
    live_server: LiveServer, redis: Redis
) -> None:
    user = await make_user(balance="100.00")
    gateway = SandboxGateway(redis)
    token = await gateway.tokenize_bank_account("110000000", "000123456789", "Pat Example")
    bank = await methods.add_bank_account(gateway, user.id, token)
    with pytest.raises(StepUpRequired):
        await funding.withdraw(
            gateway, Actor.user(user.id), funding.Withdraw(bank.id, Money(1_000, Currency.USD)), "w"
        )
    assert await transactions_of(user.id) == 0
    assert await wallet_cents(user.id) == 10_000
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM idempotency_key WHERE key = 'w'") == 0


async def test_a_large_bill_by_a_service_caller_needs_step_up_a_standing_order_does_not(
    live_server: LiveServer,
) -> None:
    _, user, _, saved_id = await payer_with_saved_biller(live_server, "900.00", "12345678")
    large = Money(60_000, Currency.USD)
    with pytest.raises(StepUpRequired):
        await bills.pay_bill(Actor.user(user.id), int(saved_id), large, "now")
    assert await wallet_cents(user.id) == 90_000
    # A schedule was stepped up for when it was made: its run pays without a new proof.
    paid = await bills.pay_bill(Actor.standing_order(user.id), int(saved_id), large, "run")
    assert paid > 0
    assert await wallet_cents(user.id) == 30_000


@pytest.fixture
def short_requests() -> Iterator[None]:
    before = rules.current()
    rules.configure(rules.MoneyRules(money_request_days=7))
    yield
    rules.configure(before)


@pytest.mark.usefixtures("database_url", "short_requests")
async def test_the_configured_request_days_bind_a_service_caller() -> None:
    requester, payer = await make_user(), await make_user()
    with pytest.raises(RequestExpiryOutOfRange):
        await requests.request_money(
            Actor.user(requester.id),
            requests.RequestMoney(payer.username, Money(100, Currency.USD), "", 8),
            "k",
        )
    made = await requests.request_money(
        Actor.user(requester.id),
        requests.RequestMoney(payer.username, Money(100, Currency.USD), ""),
        "k",
    )
    assert (made.expires_at - made.created_at).days == 7


async def a_request_for(live: LiveServer, amount: Money) -> str:
    owner, _, merchant_id = await shop(live)
    principal = await staff_principal(int(merchant_id), owner.id)
    created = await checkout.create_request(
        principal, checkout.NewPaymentRequest(amount.currency, amount)
    )
    return created.reference


async def pin_failures(user_id: int) -> int:
    async with connection() as conn:
        return int(await conn.fetchval("SELECT pin_failures FROM app_user WHERE id = $1", user_id))


async def test_a_merchant_payment_needs_the_pin_in_the_service(live_server: LiveServer) -> None:
    buyer = await make_user(balance="20.00", pin="2468")
    reference = await a_request_for(live_server, Money(300, Currency.USD))
    with pytest.raises(PinRequired):
        await checkout.pay_request(
            Actor.user(buyer.id), checkout.PayRequest(reference, None), "no-pin"
        )
    with pytest.raises(WrongPin):
        await checkout.pay_request(
            Actor.user(buyer.id), checkout.PayRequest(reference, None, "1111"), "wrong"
        )
    # The wrong PIN counted, although the payment was refused and rolled back.
    assert await pin_failures(buyer.id) == 1
    assert await wallet_cents(buyer.id) == 2_000
    paid = await checkout.pay_request(
        Actor.user(buyer.id), checkout.PayRequest(reference, None, "2468"), "right"
    )
    assert paid.amount == Money(300, Currency.USD)
    assert await wallet_cents(buyer.id) == 1_700
    assert await pin_failures(buyer.id) == 0
