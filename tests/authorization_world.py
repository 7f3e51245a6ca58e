"""The world the authorization matrix runs in: one of each kind of owned object (a
customer's, a friend's, a shop's), made once through the API as real clients would, and
every principal who is not their owner, each able to pass the other checks (stepped up,
verified, funded) so that a refusal can only be about whose object it is."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import STEP_UP_PIN, add_bank, call, send, step_up, token_for
from tests.merchant_helpers import BUSINESS, KEY, approve, create, customer, pay, verify_basic
from wallet.db.engine import connection
from wallet.gateway.sandbox import SandboxGateway
from wallet.merchants import settlement
from wallet.money import Currency
from wallet.notifications import centre
from wallet.notifications.email import SandboxEmailProvider
from wallet.notifications.money import Notice, deliver_notices
from wallet.security import passkeys
from wallet.security.passkeys import RelyingParty

# Principals. Each row names its owner; everyone else tries, unless the row names them a
# party who may see the object too (the recipient of a transfer, the buyer of a dispute).
CUSTOMER = "customer"
FRIEND = "the customer's friend"
SHOP = "the shop's owner"
SHOP_KEY = "the shop's API key"
RIVAL = "another merchant's staff"
RIVAL_KEY = "another merchant's API key"
STRANGER = "another user"
ANONYMOUS = "anonymous"
PRINCIPALS = (CUSTOMER, FRIEND, SHOP, SHOP_KEY, RIVAL, RIVAL_KEY, STRANGER, ANONYMOUS)
# The shop's owner and its API key act for the same merchant.
SAME_SIDE = {SHOP: {SHOP_KEY}, SHOP_KEY: {SHOP}}

ALL_SCOPES = ["PAYMENTS_WRITE", "REFUNDS_WRITE", "PAYMENTS_READ"]
ONBOARD = """mutation($input: OnboardMerchantInput!) { onboardMerchant(input: $input) {
  __typename ... on MerchantPayload { merchant { id } } } }"""
WEBHOOK = """mutation($m: ID!, $u: String!) { setMerchantWebhook(merchantId: $m, url: $u) {
  __typename } }"""
ADD_STAFF = """mutation($m: ID!, $u: String!) {
  addMerchantStaff(merchantId: $m, username: $u, role: CASHIER) { __typename } }"""
REQUEST = """mutation($input: RequestMoneyInput!) { requestMoney(input: $input) {
  ... on MoneyRequestPayload { request { id } } } }"""
GOAL = """mutation($n: String!) { createSavingsGoal(input: {name: $n, target: "100"}) {
  ... on SavingsGoalPayload { goal { id } } } }"""
MOVE = """mutation($g: ID!, $k: String!) { moveToSavingsGoal(
  input: {goalId: $g, amount: "20.00", idempotencyKey: $k}) { __typename } }"""
GROUP = """mutation($n: String!, $m: [String!]!) { createSplitGroup(
  input: {name: $n, members: $m}) { ... on SplitGroupPayload { group { id } } } }"""
INVITATIONS = "{ splitInvitations { id groupName } }"
ANSWER = """mutation($i: ID!) { answerSplitInvitation(input: {invitationId: $i, accept: true}) {
  __typename } }"""
EXPENSE = """mutation($g: ID!) { addSplitExpense(input: {groupId: $g, description: "Dinner",
  amount: "10.00"}) { __typename } }"""
BUDGET = """mutation { setBudget(input: {category: FOOD, amount: "50"}) {
  ... on BudgetPayload { budget { id } } } }"""
RULE = """mutation { addCategoryRule(pattern: "coffee", category: FOOD) {
  ... on CategoryRulePayload { rule { id } } } }"""
REMINDER = """mutation { createBillReminder(input: {name: "Rent", amount: "9", dayOfMonth: 3}) {
  ... on BillReminderPayload { reminder { id } } } }"""
QUOTE = """mutation($a: String!) { fxQuote(input: {sell: "USD", buy: "EUR", amount: $a}) {
  ... on FxQuotePayload { quote { id } } } }"""
SESSIONS = "{ sessions { id current } }"
SCHEDULE = """mutation($b: ID!, $at: DateTime!) { scheduleBillPayment(savedBillerId: $b,
  amount: "1.00", firstRun: $at) { __typename ... on BillSchedulePayload { schedule { id } }
  ... on UserError { code message } } }"""
SAVE_BILLER = """mutation($m: ID!) { saveBiller(merchantId: $m, accountReference: "12345678") {
  ... on SavedBillerPayload { savedBiller { id } } } }"""
OPEN_DISPUTE = """mutation($p: ID!) { openDispute(paymentId: $p, reason: "It never arrived") {
  ... on DisputePayload { dispute { id } } } }"""
DELIVERIES = "query($m: ID!) { webhookDeliveries(merchantId: $m) { id } }"
# A receiver nobody listens on: deliveries stay queued, which is all the rows need.
HOOK_URL = "http://127.0.0.1:9/hooks"

WEBAUTHN = Path(__file__).parent / "fixtures" / "webauthn" / "recorded.json"


@dataclass
class World:
    tokens: dict[str, str | None] = field(default_factory=dict)  # principal -> credential
    ids: dict[str, str] = field(default_factory=dict)  # object -> its id
    usernames: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.ids[name]


async def _sale(live: LiveServer, w: World, merchant: str, amount: str = "4.00") -> str:
    request = (await create(live, w.tokens[SHOP] or "", merchant, amount=amount))["request"]
    paid = await pay(live, w.tokens[CUSTOMER] or "", request["id"])
    return str(paid["payment"]["transactionId"])


async def _passkey(user_id: int, redis: Redis) -> str:
    """A passkey on file, registered with a ceremony recorded from Chromium."""
    recorded = json.loads(WEBAUTHN.read_text())
    rp = RelyingParty("localhost", "Wallet", (recorded["origin"],))
    await redis.set(f"webauthn:register:{user_id}", recorded["registration_challenge"].encode())
    added = await passkeys.register(
        redis, rp, user_id, json.dumps(recorded["registration"]), "Laptop", None
    )
    return str(added.id)


async def _merchant_side(live: LiveServer, w: World, redis: Redis) -> None:
    """The shop: approved, settling to its bank (one batch made), a biller, a webhook
    with queued deliveries, a cashier, a spare API key; and a marketplace of the same
    owner whose sales wait in escrow."""
    owner = await make_user(pin=STEP_UP_PIN)
    await verify_basic(owner.id)
    token = w.tokens[SHOP] = await token_for(live, owner)
    bank = await add_bank(live, token)
    onboard = {"name": "Corner Coffee", "mcc": "5814", "country": "US", **BUSINESS}
    shop = await call(live, token, ONBOARD, {"input": {**onboard, "settlementMethodId": bank}})
    merchant = w.ids["merchant"] = shop["merchant"]["id"]
    await approve(live, merchant)
    async with connection() as conn:
        await conn.execute(
            "UPDATE merchant SET biller_reference_pattern = '[0-9]{8}' WHERE id = $1",
            int(merchant),
        )
    market = await call(
        live, token, ONBOARD, {"input": {**onboard, "name": "Bazaar", "marketplace": True}}
    )
    w.ids["marketplace"] = market["merchant"]["id"]
    hooked = await call(live, token, WEBHOOK, {"m": merchant, "u": HOOK_URL})
    assert hooked["__typename"] == "WebhookEndpointPayload", hooked
    key = await call(live, token, KEY, {"m": merchant, "scopes": ALL_SCOPES})
    w.tokens[SHOP_KEY] = key["key"]
    w.ids["spare_key"] = (await call(live, token, KEY, {"m": merchant, "scopes": ALL_SCOPES}))["id"]
    cashier = await make_user()
    w.usernames["cashier"] = cashier.username
    added = await call(live, token, ADD_STAFF, {"m": merchant, "u": cashier.username})
    assert added["__typename"] == "StaffPayload", added
    for name in ("new_cashier", "joiner"):
        w.usernames[name] = (await make_user()).username
    saved = await call(live, w.tokens[CUSTOMER] or "", SAVE_BILLER, {"m": merchant})
    w.ids["saved_biller"] = saved["savedBiller"]["id"]
    for name in ("schedule_to_change", "schedule_to_cancel"):
        scheduled = await call(
            live,
            w.tokens[CUSTOMER] or "",
            SCHEDULE,
            {"b": w["saved_biller"], "at": (datetime.now(UTC) + timedelta(days=3)).isoformat()},
        )
        assert scheduled["__typename"] == "BillSchedulePayload", scheduled
        w.ids[name] = scheduled["schedule"]["id"]

    # A sale settled into a batch first, so the sales below stay in the payable for
    # refunds and disputes.
    await _sale(live, w, merchant)
    gateway = SandboxGateway(redis, day_seconds=live.settings.sandbox.day_seconds)
    batch = await settlement.settle_merchant(gateway, int(merchant), Currency.USD)
    assert batch is not None
    w.ids["batch"] = str(batch.id)
    for name in ("payment_refund", "payment_split", "payment_open", "payment_disputed"):
        w.ids[name] = await _sale(live, w, merchant)
    w.ids["payment_escrow"] = await _sale(live, w, w.ids["marketplace"])
    disputed = await call(live, w.tokens[CUSTOMER], OPEN_DISPUTE, {"p": w["payment_disputed"]})
    w.ids["dispute"] = disputed["dispute"]["id"]
    w.ids["delivery"] = (await call(live, token, DELIVERIES, {"m": merchant}))[0]["id"]
    w.ids["pos_request"] = (await create(live, token, merchant, amount="6.00"))["request"]["id"]
    sold = (await create(live, token, merchant, amount="3.00"))["request"]
    await pay(live, w.tokens[CUSTOMER] or "", sold["id"])
    w.ids["pos_request_paid"] = sold["id"]
    w.ids["pos_request_to_watch"] = (await create(live, token, merchant, amount="7.00"))["request"][
        "id"
    ]
    # Paid by the owner's merchantSales row, to hear of it.
    w.ids["pos_request_for_sales"] = (await create(live, token, merchant, amount="6.00"))[
        "request"
    ]["id"]


async def _customer_side(live: LiveServer, w: World, redis: Redis) -> None:
    alice, token = await customer(live, "500.00")
    await verify_basic(alice.id)  # to open a merchant with her own bank account
    w.tokens[CUSTOMER] = token
    friend = await make_user()
    await verify_basic(friend.id)
    friend_token = w.tokens[FRIEND] = await token_for(live, friend)
    w.usernames[FRIEND] = friend.username
    w.ids["sent"] = (await send(live, token, friend.username, "5.00"))["transfer"]["id"]
    for name in ("request_pay", "request_decline", "request_cancel"):
        asked = {"payer": alice.username, "amount": "3.00", "idempotencyKey": name}
        w.ids[name] = (await call(live, friend_token, REQUEST, {"input": asked}))["request"]["id"]
    w.ids["bank"] = await add_bank(live, token)  # steps the customer's session up too
    w.ids["bank_to_remove"] = await add_bank(live, token, "000987654321")
    w.ids["passkey"] = await _passkey(alice.id, redis)
    for name in ("goal", "goal_to_close"):
        w.ids[name] = (await call(live, token, GOAL, {"n": name}))["goal"]["id"]
    moved = await call(live, token, MOVE, {"g": w["goal"], "k": uuid.uuid4().hex})
    assert moved["__typename"] == "SavingsGoalPayload", moved
    # "Flat": the friend is only invited (their invitation is a row); "Dinner": the
    # friend joined and paid, so the customer owes 5.00 there.
    for name in ("flat", "dinner"):
        group = await call(live, token, GROUP, {"n": name, "m": [friend.username]})
        w.ids[name] = group["group"]["id"]
    invitations = {i["groupName"]: i["id"] for i in await call(live, friend_token, INVITATIONS)}
    w.ids["invitation"] = invitations["flat"]
    joined = await call(live, friend_token, ANSWER, {"i": invitations["dinner"]})
    assert joined["__typename"] == "SplitInvitationPayload", joined
    paid = await call(live, friend_token, EXPENSE, {"g": w["dinner"]})
    assert paid["__typename"] == "SplitExpensePayload", paid
    w.ids["budget"] = (await call(live, token, BUDGET))["budget"]["id"]
    w.ids["rule"] = (await call(live, token, RULE))["rule"]["id"]
    w.ids["reminder"] = (await call(live, token, REMINDER))["reminder"]["id"]
    for name, amount in (("quote", "1.00"), ("quote_to_send", "2.00")):
        w.ids[name] = (await call(live, token, QUOTE, {"a": amount}))["quote"]["id"]
    notice = Notice(alice.id, "money_added", "$5.00 added", "Ready", f"authz:{alice.id}")
    await deliver_notices([notice], SandboxEmailProvider(redis))
    w.ids["notification"] = str((await centre.notifications_of(alice.id, 1))[0].id)
    await token_for(live, alice)  # a second session, on another device say
    w.ids["other_session"] = next(
        s["id"] for s in await call(live, token, SESSIONS) if not s["current"]
    )


async def _outsiders(live: LiveServer, w: World) -> None:
    """Another user and another merchant (its owner and a key with every scope), each
    with a split group and a merchant of their own to aim at the owners' objects."""
    stranger = await make_user(balance="50.00", pin=STEP_UP_PIN)
    await verify_basic(stranger.id)
    w.tokens[STRANGER] = await token_for(live, stranger)
    own = await call(live, w.tokens[STRANGER], GROUP, {"n": "Mine", "m": []})
    w.ids["stranger_group"] = own["group"]["id"]
    rival = await make_user(pin=STEP_UP_PIN)
    await verify_basic(rival.id)
    rival_token = w.tokens[RIVAL] = await token_for(live, rival)
    onboard = {"name": "Rival Roasters", "mcc": "5814", "country": "US", **BUSINESS}
    rival_shop = await call(live, rival_token, ONBOARD, {"input": onboard})
    w.ids["rival_merchant"] = rival_shop["merchant"]["id"]
    key = await call(live, rival_token, KEY, {"m": w["rival_merchant"], "scopes": ALL_SCOPES})
    w.tokens[RIVAL_KEY] = key["key"]
    w.tokens[ANONYMOUS] = None


async def build_world(live: LiveServer) -> World:
    w = World()
    redis = Redis.from_url(live.settings.redis_url or "")
    try:
        await _customer_side(live, w, redis)
        await _merchant_side(live, w, redis)
        await _outsiders(live, w)
    finally:
        await redis.aclose()
    # Every user session proves a second factor now, so that step-up never stands in
    # for the ownership check (the module's settings keep proofs for the whole run).
    for principal in (CUSTOMER, FRIEND, SHOP, RIVAL, STRANGER):
        await step_up(live, w.tokens[principal] or "")
    return w
