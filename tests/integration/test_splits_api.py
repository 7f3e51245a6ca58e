"""Bill splitting over GraphQL: groups, splits, balances, settling up with real money."""

import asyncio
import re
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, token_for
from tests.integration.test_money_requests_api import SEND_CODE, VERIFY
from tests.ledger_helpers import wallet_cents
from tests.merchant_helpers import create, customer, pay, shop
from wallet.db.engine import connection, transaction
from wallet.notifications.email import SandboxEmailProvider
from wallet.notifications.money import send_invite
from wallet.notifications.sms import SandboxSmsProvider
from wallet.splits import service

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

GROUP = """mutation($input: CreateSplitGroupInput!) { createSplitGroup(input: $input) {
  __typename ... on SplitGroupPayload { group { id name members invited } }
  ... on UserError { code message } ... on ValidationError { fieldErrors { field code } } } }"""

EXPENSE = """mutation($input: AddSplitExpenseInput!) { addSplitExpense(input: $input) {
  __typename
  ... on SplitExpensePayload { expense { id amount currency paidBy method
                                         shares { username amount } } }
  ... on UserError { code message } ... on ValidationError { fieldErrors { field code } } } }"""

SPLIT_PAYMENT = """mutation($input: SplitPaymentInput!) { splitPayment(input: $input) {
  __typename
  ... on SplitExpensePayload { expense { description amount paidBy shares { username amount }
                                         paymentTransactionId } }
  ... on UserError { code message } ... on ValidationError { fieldErrors { field code } } } }"""

SETTLE = """mutation($input: SettleUpInput!) { settleUp(input: $input) {
  __typename
  ... on SettleUpPayload { currency transfers { to amount } requests { from amount requestId } }
  ... on UserError { code message } ... on InsufficientFunds { available }
  ... on ValidationError { fieldErrors { field code } } } }"""

GROUPS = """{ splitGroups { id name members positions { username currency net }
  suggestedPayments { payer payee amount currency } expenses { description amount } } }"""

PAY_REQUEST = """mutation($input: PayMoneyRequestInput!) { payMoneyRequest(input: $input) {
  __typename } }"""

INVITATIONS = "{ splitInvitations { id groupName invitedBy } }"
ANSWER = """mutation($input: AnswerSplitInvitationInput!) { answerSplitInvitation(input: $input) {
  __typename ... on SplitInvitationPayload { accepted group { name members invited } }
  ... on UserError { code message } } }"""
ADD_MEMBERS = """mutation($g: ID!, $m: [String!]!) { addSplitMembers(groupId: $g, members: $m) {
  __typename ... on SplitGroupPayload { group { members invited } }
  ... on ValidationError { fieldErrors { field code } } } }"""


async def answer_all(live: LiveServer, token: str, accept: bool = True) -> list[Any]:
    """Answer every invitation waiting for this user."""
    return [
        await call(live, token, ANSWER, {"input": {"invitationId": i["id"], "accept": accept}})
        for i in await call(live, token, INVITATIONS)
    ]


async def expense(live: LiveServer, token: str, group_id: str, amount: str, **fields: Any) -> Any:
    variables = {
        "input": {"groupId": group_id, "description": "Dinner", "amount": amount, **fields}
    }
    return await call(live, token, EXPENSE, variables)


async def settle(live: LiveServer, token: str, group_id: str, key: str | None = None) -> Any:
    variables = {"input": {"groupId": group_id, "idempotencyKey": key or uuid.uuid4().hex}}
    return await call(live, token, SETTLE, variables)


async def the_group(live: LiveServer, token: str, group_id: str) -> dict[str, Any]:
    groups = await call(live, token, GROUPS)
    return next(g for g in groups if g["id"] == group_id)


async def trio(live: LiveServer) -> tuple[list[Any], list[str], str]:
    alice, bob, carol = (
        await make_user(balance="100.00"),
        await make_user(balance="100.00"),
        await make_user(balance="100.00"),
    )
    tokens = [await token_for(live, u) for u in (alice, bob, carol)]
    created = await call(
        live,
        tokens[0],
        GROUP,
        {"input": {"name": "  Lisbon   trip ", "members": [f"@{bob.username}", carol.email]}},
    )
    assert created["group"]["name"] == "Lisbon trip"
    # Invited, not members: each joins by accepting.
    assert created["group"]["members"] == [alice.username]
    assert created["group"]["invited"] == [f"@{bob.username}", f"{carol.email[0]}•••@example.com"]
    for token in tokens[1:]:
        (joined,) = await answer_all(live, token)
        assert joined["accepted"] is True
    (group,) = await call(live, tokens[0], GROUPS)
    assert sorted(group["members"]) == sorted(u.username for u in (alice, bob, carol))
    return [alice, bob, carol], tokens, created["group"]["id"]


async def test_expenses_split_every_way_and_balances_show_who_owes_whom(
    live_server: LiveServer,
) -> None:
    (alice, bob, carol), tokens, group_id = await trio(live_server)
    dinner = await expense(live_server, tokens[0], group_id, "100.00")  # equal, paid by alice
    shares = {s["username"]: s["amount"] for s in dinner["expense"]["shares"]}
    # 100.00 / 3: the extra cent goes to the earliest member (alice signed up first).
    assert shares == {alice.username: "33.34", bob.username: "33.33", carol.username: "33.33"}

    taxi = await expense(
        live_server,
        tokens[2],
        group_id,
        "20.00",
        method="EXACT",
        among=[alice.username, carol.username],
        values=[
            {"member": alice.username, "value": "5"},
            {"member": carol.username, "value": "15.00"},
        ],
    )
    assert taxi["expense"]["paidBy"] == carol.username
    rent = await expense(
        live_server,
        tokens[1],
        group_id,
        "90.00",
        method="SHARES",
        values=[
            {"member": u.username, "value": str(n)} for u, n in ((alice, 1), (bob, 2), (carol, 0))
        ],
    )
    assert {s["username"]: s["amount"] for s in rent["expense"]["shares"]} == {
        alice.username: "30.00",
        bob.username: "60.00",
        carol.username: "0.00",
    }
    tip = await expense(
        live_server,
        tokens[0],
        group_id,
        "10.00",
        method="PERCENT",
        paidBy=bob.username,
        values=[
            {"member": alice.username, "value": "12.5"},
            {"member": bob.username, "value": "50"},
            {"member": carol.username, "value": "37.5"},
        ],
    )
    assert tip["expense"]["paidBy"] == bob.username

    view = await the_group(live_server, tokens[1], group_id)
    nets = {p["username"]: p["net"] for p in view["positions"]}
    # alice: +100 - 33.34 - 5 - 30 - 1.25 = 30.41; bob: +90 +10 - 33.33 - 60 - 5 = 1.67
    # carol: +20 - 33.33 - 15 - 3.75 = -32.08
    assert nets == {alice.username: "30.41", bob.username: "1.67", carol.username: "-32.08"}
    assert sorted(
        (p["payer"], p["payee"], p["amount"]) for p in view["suggestedPayments"]
    ) == sorted([(carol.username, alice.username, "30.41"), (carol.username, bob.username, "1.67")])


async def test_settling_up_moves_real_money_once_and_squares_the_group(
    live_server: LiveServer,
) -> None:
    (alice, bob, carol), tokens, group_id = await trio(live_server)
    await expense(live_server, tokens[0], group_id, "60.00")  # each owes alice 20
    key = uuid.uuid4().hex
    settled = await settle(live_server, tokens[1], group_id, key)
    assert settled["transfers"] == [{"to": alice.username, "amount": "20.00"}]
    assert settled["requests"] == []
    assert await settle(live_server, tokens[1], group_id, key) == settled  # replayed
    assert (await wallet_cents(alice.id), await wallet_cents(bob.id)) == (12_000, 8_000)
    again = await settle(live_server, tokens[1], group_id)
    assert again["fieldErrors"] == [{"field": "groupId", "code": "NOTHING_TO_SETTLE"}]

    # Alice asks carol for hers; the request counts once carol pays it.
    asked = await settle(live_server, tokens[0], group_id)
    assert asked["transfers"] == []
    assert [(r["from"], r["amount"]) for r in asked["requests"]] == [(carol.username, "20.00")]
    view = await the_group(live_server, tokens[0], group_id)
    assert {p["username"]: p["net"] for p in view["positions"]} == {
        alice.username: "20.00",
        carol.username: "-20.00",
    }
    paid = await call(
        live_server,
        tokens[2],
        PAY_REQUEST,
        {"input": {"requestId": asked["requests"][0]["requestId"], "idempotencyKey": "k1"}},
    )
    assert paid["__typename"] == "MoneyRequestPayload"
    view = await the_group(live_server, tokens[0], group_id)
    assert view["positions"] == [] and view["suggestedPayments"] == []
    assert await wallet_cents(alice.id) == 14_000


async def test_paying_directly_cancels_the_request_for_the_same_debt(
    live_server: LiveServer,
) -> None:
    (alice, bob, _), tokens, group_id = await trio(live_server)
    await expense(live_server, tokens[0], group_id, "30.00", among=[alice.username, bob.username])
    asked = await settle(live_server, tokens[0], group_id)
    request_id = int(asked["requests"][0]["requestId"])
    await settle(live_server, tokens[1], group_id)  # bob pays directly instead
    async with connection() as conn:
        status = await conn.fetchval("SELECT status FROM money_request WHERE id = $1", request_id)
    assert status == "cancelled"
    assert (await wallet_cents(alice.id), await wallet_cents(bob.id)) == (11_500, 8_500)
    assert (await the_group(live_server, tokens[0], group_id))["positions"] == []


async def test_a_merchant_payment_is_split_after_the_fact_once(live_server: LiveServer) -> None:
    _, shop_token, merchant_id = await shop(live_server)
    buyer, buyer_token = await customer(live_server, "80.00")
    friend = await make_user()
    group = await call(
        live_server, buyer_token, GROUP, {"input": {"name": "Flat", "members": [friend.username]}}
    )
    group_id = group["group"]["id"]
    friend_token = await token_for(live_server, friend)
    await answer_all(live_server, friend_token)
    request = (await create(live_server, shop_token, merchant_id, amount="24.00"))["request"]
    payment = (await pay(live_server, buyer_token, request["id"]))["payment"]
    variables = {"input": {"transactionId": payment["transactionId"], "groupId": group_id}}
    split = await call(live_server, buyer_token, SPLIT_PAYMENT, variables)
    assert split["expense"]["description"] == "Corner Coffee"
    assert split["expense"]["paidBy"] == buyer.username
    assert {s["amount"] for s in split["expense"]["shares"]} == {"12.00"}
    twice = await call(live_server, buyer_token, SPLIT_PAYMENT, variables)
    assert twice["fieldErrors"] == [{"field": "transactionId", "code": "NOT_SPLITTABLE"}]
    # The friend cannot split the buyer's payment.
    theirs = await call(live_server, friend_token, SPLIT_PAYMENT, variables)
    assert theirs["fieldErrors"] == [{"field": "transactionId", "code": "NOT_SPLITTABLE"}]


async def test_bad_split_input_gets_typed_errors_with_nothing_written(
    live_server: LiveServer,
) -> None:
    (alice, bob, _), tokens, group_id = await trio(live_server)
    outsider = await make_user()
    outsider_token = await token_for(live_server, outsider)

    async def rows() -> tuple[int, int, int]:
        async with connection() as conn:
            return tuple(
                await conn.fetchrow(  # type: ignore[return-value]
                    "SELECT (SELECT count(*) FROM split_expense),"
                    " (SELECT count(*) FROM split_share), (SELECT count(*) FROM split_settlement)"
                )
            )

    before = await rows()
    among_outsider = await expense(
        live_server, tokens[0], group_id, "10.00", among=[alice.username, outsider.username]
    )
    assert among_outsider["fieldErrors"] == [{"field": "among", "code": "NOT_A_MEMBER"}]
    paid_by_outsider = await expense(
        live_server, tokens[0], group_id, "10.00", paidBy=outsider.username
    )
    assert paid_by_outsider["fieldErrors"] == [{"field": "paidBy", "code": "NOT_A_MEMBER"}]
    negative = await expense(live_server, tokens[0], group_id, "-5.00")
    assert negative["__typename"] == "ValidationError"
    short = await expense(
        live_server,
        tokens[0],
        group_id,
        "10.00",
        method="EXACT",
        among=[alice.username, bob.username],
        values=[{"member": alice.username, "value": "4"}, {"member": bob.username, "value": "5"}],
    )
    assert short["fieldErrors"] == [{"field": "values", "code": "DOES_NOT_ADD_UP"}]
    percent = await expense(
        live_server,
        tokens[0],
        group_id,
        "10.00",
        method="PERCENT",
        among=[alice.username, bob.username],
        values=[{"member": alice.username, "value": "50"}, {"member": bob.username, "value": "40"}],
    )
    assert percent["fieldErrors"] == [{"field": "values", "code": "DOES_NOT_ADD_UP"}]
    not_a_number = await expense(
        live_server,
        tokens[0],
        group_id,
        "10.00",
        method="SHARES",
        values=[{"member": alice.username, "value": "lots"}],
    )
    assert not_a_number["fieldErrors"] == [{"field": "values", "code": "INVALID"}]
    # Someone outside the group sees nothing of it and cannot add to it.
    assert (await expense(live_server, outsider_token, group_id, "1.00"))["__typename"] == (
        "NotFound"
    )
    assert (await settle(live_server, outsider_token, group_id))["__typename"] == "NotFound"
    assert await call(live_server, outsider_token, GROUPS) == []
    unknown = await call(
        live_server, tokens[0], GROUP, {"input": {"name": "x", "members": ["@nobody_here"]}}
    )
    assert unknown["fieldErrors"] == [{"field": "members", "code": "INVALID"}]
    assert await rows() == before


async def test_both_sides_settling_at_once_pay_the_debt_exactly_once(
    live_server: LiveServer,
) -> None:
    (alice, bob, _), tokens, group_id = await trio(live_server)
    await expense(live_server, tokens[0], group_id, "40.00", among=[alice.username, bob.username])
    # Alice asks and bob pays, over and over at the same time.
    outcomes = await asyncio.gather(
        *(settle(live_server, tokens[i % 2], group_id) for i in range(10))
    )
    assert {o["__typename"] for o in outcomes} <= {"SettleUpPayload", "ValidationError"}
    async with connection() as conn:
        open_requests = await conn.fetch(
            "SELECT id FROM money_request WHERE status = 'open' AND payer_id = $1", bob.id
        )
    for r in open_requests:  # bob also pays whatever request is still open
        await call(
            live_server,
            tokens[1],
            PAY_REQUEST,
            {"input": {"requestId": str(r["id"]), "idempotencyKey": uuid.uuid4().hex}},
        )
    assert (await wallet_cents(alice.id), await wallet_cents(bob.id)) == (12_000, 8_000)
    assert (await the_group(live_server, tokens[0], group_id))["positions"] == []


async def test_listing_groups_reads_twice_however_many_groups(live_server: LiveServer) -> None:
    users, tokens, _ = await trio(live_server)
    for name in ("Flat", "Office", "Climbing"):
        await call(
            live_server,
            tokens[0],
            GROUP,
            {"input": {"name": name, "members": [f"@{users[1].username}"]}},
        )
    queries: list[str] = []
    async with transaction() as conn:  # groups_of reads through this connection
        conn.add_query_logger(lambda record: queries.append(record.query))
        groups = await service.groups_of(users[0].id)
    assert [g.name for g in groups] == ["Climbing", "Office", "Flat", "Lisbon trip"]
    assert [len(g.members) for g in groups] == [1, 1, 1, 3]
    assert [[i.shown_as for i in g.invited] for g in groups] == [[f"@{users[1].username}"]] * 3 + [
        []
    ]
    assert len([q for q in queries if q.strip().upper() != "COMMIT;"]) == 2


async def test_someone_added_without_consent_cannot_be_charged(live_server: LiveServer) -> None:
    # The review's finding 17: A puts B in a group and records an expense naming B.
    alice, bob = await make_user(balance="50.00"), await make_user(balance="50.00")
    a_token, b_token = await token_for(live_server, alice), await token_for(live_server, bob)
    created = await call(
        live_server, a_token, GROUP, {"input": {"name": "Dinner", "members": [bob.username]}}
    )
    group_id = created["group"]["id"]
    for fields in (
        {"among": [alice.username, bob.username]},
        {"paidBy": bob.username},
        {"method": "EXACT", "values": [{"member": bob.username, "value": "60.00"}]},
    ):
        refused = await expense(live_server, a_token, group_id, "60.00", **fields)
        assert refused["__typename"] == "ValidationError", fields
        (error,) = refused["fieldErrors"]
        assert error["code"] == "INVITATION_PENDING", fields
    # Split "among everyone", it falls on the members only: bob is not one.
    alone = await expense(live_server, a_token, group_id, "60.00")
    assert alone["expense"]["shares"] == [{"username": alice.username, "amount": "60.00"}]
    assert (await settle(live_server, a_token, group_id))["fieldErrors"] == [
        {"field": "groupId", "code": "NOTHING_TO_SETTLE"}
    ]
    # Bob owes nothing and does not even see the group until he says yes.
    assert await call(live_server, b_token, GROUPS) == []
    assert (await settle(live_server, b_token, group_id))["__typename"] == "NotFound"
    async with connection() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM split_share WHERE user_id = $1", bob.id) == 0
        )
    assert await wallet_cents(bob.id) == 5_000
    (invitation,) = await call(live_server, b_token, INVITATIONS)
    assert (invitation["groupName"], invitation["invitedBy"]) == ("Dinner", alice.username)


async def test_a_declined_invitation_is_not_sent_again(live_server: LiveServer) -> None:
    alice, bob, outsider = await make_user(), await make_user(), await make_user()
    a_token, b_token = await token_for(live_server, alice), await token_for(live_server, bob)
    created = await call(
        live_server, a_token, GROUP, {"input": {"name": "Flat", "members": [f"@{bob.username}"]}}
    )
    group_id = created["group"]["id"]
    (invitation,) = await call(live_server, b_token, INVITATIONS)
    # Nobody answers someone else's invitation.
    outsider_answer = await call(
        live_server,
        await token_for(live_server, outsider),
        ANSWER,
        {"input": {"invitationId": invitation["id"], "accept": True}},
    )
    assert outsider_answer["code"] == "NOT_FOUND"
    (declined,) = await answer_all(live_server, b_token, accept=False)
    assert declined == {"__typename": "SplitInvitationPayload", "accepted": False, "group": None}
    again = await call(live_server, a_token, ADD_MEMBERS, {"g": group_id, "m": [bob.username]})
    assert again["group"] == {"members": [alice.username], "invited": []}
    assert await call(live_server, b_token, INVITATIONS) == []
    assert await call(live_server, b_token, GROUPS) == []
    twice = await call(
        live_server, b_token, ANSWER, {"input": {"invitationId": invitation["id"], "accept": True}}
    )
    assert twice["code"] == "NOT_FOUND"


async def test_inviting_a_registered_or_an_unknown_contact_looks_the_same(
    live_server: LiveServer, redis: Redis
) -> None:
    alice, bob = await make_user(), await make_user()
    a_token = await token_for(live_server, alice)
    created = await call(
        live_server,
        a_token,
        GROUP,
        {"input": {"name": "Band", "members": [bob.email, "Lee.New@example.com", "+14155550166"]}},
    )
    assert created["group"]["members"] == [alice.username]
    assert created["group"]["invited"] == [
        f"{bob.email[0]}•••@example.com",
        "l•••@example.com",
        "•••0166",
    ]
    async with connection() as conn:
        invites = await conn.fetch(
            "SELECT id, payload->>'contact' AS contact FROM outbox_event "
            "WHERE topic = 'contact.invited' ORDER BY id"
        )
    assert [i["contact"] for i in invites] == ["lee.new@example.com", "+14155550166"]
    email, sms = SandboxEmailProvider(redis), SandboxSmsProvider(redis)
    assert await send_invite(int(invites[0]["id"]), email=email, sms=sms) == "sent"
    (mail,) = await email.sent_to("lee.new@example.com")
    assert f"@{alice.username} invites you to split bills" in str(mail["body"])
    assert "Band" not in str(mail["body"])  # no stranger's free text to non-users

    # Lee signs up and proves the email: the invitation is now hers to answer.
    lee = await make_user(email="lee.new@example.com")
    l_token = await token_for(live_server, lee)
    assert await call(live_server, l_token, INVITATIONS) == []
    await call(live_server, l_token, SEND_CODE, {"c": "EMAIL"})
    code = re.search(r"\b(\d{6})\b", str((await email.sent_to(lee.email))[-1]["body"]))
    assert code is not None
    await call(live_server, l_token, VERIFY, {"c": "EMAIL", "code": code.group(1)})
    (joined,) = await answer_all(live_server, l_token)
    assert sorted(joined["group"]["members"]) == sorted([alice.username, lee.username])
    # Bob's invitation, by his email, waits for him like any other.
    (bobs,) = await call(live_server, await token_for(live_server, bob), INVITATIONS)
    assert bobs["groupName"] == "Band"


async def test_a_contact_with_no_wallet_gets_one_invite_a_day_by_the_database_clock(
    database_url: str,
) -> None:
    """However many groups add an unknown email, one invite goes out per day; the day is
    counted by the database's clock, the one the invitations were written with."""
    alice, bob = await make_user(), await make_user()

    async def invites() -> int:
        async with connection() as conn:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM outbox_event WHERE topic = 'contact.invited' "
                    "AND payload->>'contact' = 'sam.new@example.com'"
                )
            )

    await service.create_group(alice.id, "Flat", ["sam.new@example.com"])
    await service.create_group(bob.id, "Office", ["Sam.New@example.com"])
    assert await invites() == 1
    # A day and a minute later (by moving the invitations back), the next group invites.
    async with connection() as conn:
        await conn.execute(
            "UPDATE split_invitation SET created_at = now() - interval '1 day 1 minute' "
            "WHERE contact = 'sam.new@example.com'"
        )
    await service.create_group(alice.id, "Climbing", ["sam.new@example.com"])
    assert await invites() == 2
    await service.create_group(bob.id, "Choir", ["sam.new@example.com"])
    assert await invites() == 2
