"""Authorization matrix (BOLA): for every query, mutation and subscription that takes the
id of something a user or a merchant owns, everyone else is refused (NotFound,
Forbidden, NotAuthenticated, ValidationError, or nothing) and no table changes; then the
owner's own call, with the same arguments, reaches the object.

Everyone else: another user, another merchant's staff and its API key (each also aiming
with an id of their own where a field takes two, e.g. their merchant and the shop's
payment), anonymous clients, and the owners of the other objects (the shop, its key,
the customer, the customer's friend), unless the row names them a party who may see the
object too. `tests/unit/test_authorization_coverage.py` checks that every id-taking field
of the schema has a row here, a place in the operator role matrix, or a reason."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import websockets

from graphql import OperationDefinitionNode, parse
from tests.authorization_world import (
    CUSTOMER,
    FRIEND,
    PRINCIPALS,
    RIVAL,
    RIVAL_KEY,
    SAME_SIDE,
    SHOP,
    SHOP_KEY,
    STRANGER,
    World,
    build_world,
)
from tests.conftest import LiveServer
from tests.graphql_client import gql
from tests.merchant_helpers import pay
from tests.subscriptions import first_event
from wallet.config import Settings
from wallet.db.engine import connection

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

REFUSED = {"NotFound", "Forbidden", "NotAuthenticated", "ValidationError"}
# Top-level errors that are refusals (the field is null with them), not failures.
REFUSED_CODES = {"NOT_AUTHENTICATED", "NOT_FOUND", "FORBIDDEN"}
LISTENING = "still listening"  # an outsider's subscription that was not refused
TELLING = "{ __typename ... on UserError { message } }"


def typename(name: str) -> Callable[[Any], bool]:
    return lambda answer: isinstance(answer, dict) and answer.get("__typename") == name


def flag(name: str) -> Callable[[Any], bool]:
    return lambda answer: answer == {name: True}


def data(answer: Any) -> bool:
    return bool(answer)


def key() -> str:
    return uuid.uuid4().hex


def tomorrow() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


@dataclass(frozen=True)
class Row:
    query: str  # one operation with one top-level field
    owner: str
    variables: Callable[[World], dict[str, Any]]
    owner_gets: Callable[[Any], bool]
    parties: frozenset[str] = frozenset()  # principals who may see the object too
    # Outsider -> variables aiming their own container at the owner's object.
    aimed: Mapping[str, Callable[[World], dict[str, Any]]] = field(default_factory=dict)
    trigger: Callable[[LiveServer, World], Awaitable[Any]] | None = None  # subscriptions

    @property
    def operation(self) -> OperationDefinitionNode:
        (operation,) = parse(self.query).definitions
        assert isinstance(operation, OperationDefinitionNode)
        return operation

    @property
    def coordinate(self) -> str:
        """`Mutation.sendMoney`: the schema field this row exercises."""
        operation = self.operation
        (selection,) = operation.selection_set.selections
        return f"{operation.operation.value.capitalize()}.{selection.name.value}"  # type: ignore[attr-defined]

    def outsiders(self) -> list[str]:
        owner_side = {self.owner, *SAME_SIDE.get(self.owner, set())}
        return [p for p in PRINCIPALS if p not in owner_side and p not in self.parties]


CUSTOMER_ROWS = [
    Row(
        "mutation($id: ID!) { markNotificationRead(id: $id) { __typename } }",
        CUSTOMER,
        lambda w: {"id": w["notification"]},
        typename("MarkReadPayload"),
    ),
    Row(
        "query($id: ID!) { transaction(id: $id) { id amount } }",
        CUSTOMER,
        lambda w: {"id": w["sent"]},
        data,
        parties=frozenset({FRIEND}),  # the recipient
    ),
    Row(
        """mutation($id: ID!) { categorizeTransaction(transactionId: $id, category: HEALTH) {
        __typename } }""",
        CUSTOMER,
        lambda w: {"id": w["sent"]},
        typename("CategorizePayload"),
        parties=frozenset({FRIEND}),  # categorises their own side of it
    ),
    Row(
        """query($q: ID!, $to: String!) { sendPreview(input: {recipient: $to, amount: "2.00",
        quoteId: $q}) { __typename } }""",
        CUSTOMER,
        lambda w: {"q": w["quote_to_send"], "to": w.usernames["joiner"]},
        typename("SendPreview"),  # before sendMoney uses the quote up
    ),
    Row(
        """mutation($q: ID!, $to: String!, $k: String!) { sendMoney(input: {recipient: $to,
        amount: "2.00", quoteId: $q, idempotencyKey: $k}) { __typename } }""",
        CUSTOMER,
        lambda w: {"q": w["quote_to_send"], "to": w.usernames["joiner"], "k": key()},
        typename("SendMoneyPayload"),
    ),
    Row(
        """mutation($id: ID!, $k: String!) {
        convert(input: {quoteId: $id, idempotencyKey: $k}) { __typename } }""",
        CUSTOMER,
        lambda w: {"id": w["quote"], "k": key()},
        typename("ConvertPayload"),
    ),
    Row(
        """mutation($id: ID!, $k: String!) { addMoney(input: {
        paymentMethodId: $id, amount: "1.00", idempotencyKey: $k}) { __typename } }""",
        CUSTOMER,
        lambda w: {"id": w["bank"], "k": key()},
        typename("FundingPayload"),
    ),
    Row(
        """mutation($id: ID!, $k: String!) { withdraw(input: {
        paymentMethodId: $id, amount: "1.00", idempotencyKey: $k}) { __typename } }""",
        CUSTOMER,
        lambda w: {"id": w["bank"], "k": key()},
        typename("FundingPayload"),
    ),
    Row(
        "mutation($id: ID!) { removePaymentMethod(id: $id) { __typename } }",
        CUSTOMER,
        lambda w: {"id": w["bank_to_remove"]},
        typename("RemovePaymentMethodPayload"),
    ),
    Row(
        """mutation($id: ID!) { onboardMerchant(input: {name: "Bakery", mcc: "5462",
        country: "US", legalName: "Bakery LLC", businessAddress: "2 Market Street, SF",
        registrationNumber: "C1234567", description: "Bread and cakes",
        settlementMethodId: $id}) { __typename } }""",
        CUSTOMER,
        lambda w: {"id": w["bank"]},
        typename("MerchantPayload"),
    ),
    Row(
        """mutation($id: ID!) { setSavingsGoalRules(input: {goalId: $id, roundUp: true,
        weeklyAmount: "5.00"}) { __typename } }""",
        CUSTOMER,
        lambda w: {"id": w["goal"]},
        typename("SavingsGoalPayload"),
    ),
    Row(
        """mutation($id: ID!, $k: String!) { moveToSavingsGoal(
        input: {goalId: $id, amount: "1.00", idempotencyKey: $k}) { __typename } }""",
        CUSTOMER,
        lambda w: {"id": w["goal"], "k": key()},
        typename("SavingsGoalPayload"),
    ),
    Row(
        """mutation($id: ID!, $k: String!) { withdrawFromSavingsGoal(
        input: {goalId: $id, amount: "1.00", idempotencyKey: $k}) { __typename } }""",
        CUSTOMER,
        lambda w: {"id": w["goal"], "k": key()},
        typename("SavingsGoalPayload"),
    ),
    Row(
        "mutation($id: ID!) { closeSavingsGoal(goalId: $id) { __typename } }",
        CUSTOMER,
        lambda w: {"id": w["goal_to_close"]},
        typename("SavingsGoalPayload"),
    ),
    # "Flat": the friend is only invited until the answerSplitInvitation row, so they are
    # refused like anyone else until then.
    Row(
        """mutation($id: ID!, $m: [String!]!) { addSplitMembers(groupId: $id, members: $m) {
        __typename } }""",
        CUSTOMER,
        lambda w: {"id": w["flat"], "m": [w.usernames["joiner"]]},
        typename("SplitGroupPayload"),
    ),
    Row(
        """mutation($id: ID!) { addSplitExpense(input: {groupId: $id,
        description: "Pizza", amount: "10.00"}) { __typename } }""",
        CUSTOMER,
        lambda w: {"id": w["flat"]},
        typename("SplitExpensePayload"),
    ),
    Row(
        """mutation($t: ID!, $g: ID!) { splitPayment(input: {
        transactionId: $t, groupId: $g}) { __typename } }""",
        CUSTOMER,
        lambda w: {"t": w["payment_split"], "g": w["flat"]},
        typename("SplitExpensePayload"),
        aimed={STRANGER: lambda w: {"t": w["payment_split"], "g": w["stranger_group"]}},
    ),
    Row(
        """mutation($id: ID!) { answerSplitInvitation(input: {invitationId: $id,
        accept: true}) { __typename } }""",
        FRIEND,
        lambda w: {"id": w["invitation"]},
        typename("SplitInvitationPayload"),
    ),
    Row(
        """mutation($id: ID!, $k: String!) { settleUp(input: {groupId: $id,
        idempotencyKey: $k}) { __typename } }""",
        CUSTOMER,
        lambda w: {"id": w["dinner"], "k": key()},
        typename("SettleUpPayload"),
        parties=frozenset({FRIEND}),  # a member, owed in this group
    ),
    Row(
        """mutation($id: ID!, $k: String!) { payMoneyRequest(input: {requestId: $id,
        idempotencyKey: $k}) { __typename } }""",
        CUSTOMER,
        lambda w: {"id": w["request_pay"], "k": key()},
        typename("MoneyRequestPayload"),
    ),
    Row(
        "mutation($id: ID!) { declineMoneyRequest(requestId: $id) { __typename } }",
        CUSTOMER,
        lambda w: {"id": w["request_decline"]},
        typename("MoneyRequestPayload"),
    ),
    Row(
        "mutation($id: ID!) { cancelMoneyRequest(requestId: $id) { __typename } }",
        FRIEND,
        lambda w: {"id": w["request_cancel"]},
        typename("MoneyRequestPayload"),
    ),
    Row(
        """query($b: ID!) { billBudgetImpact(savedBillerId: $b, amount: "1.00") {
        category exceeds } }""",
        CUSTOMER,
        lambda w: {"b": w["saved_biller"]},
        data,  # the customer's FOOD budget covers the coffee shop they saved (before deleteBudget)
    ),
    Row(
        "mutation($id: ID!) { deleteBudget(id: $id) { deleted } }",
        CUSTOMER,
        lambda w: {"id": w["budget"]},
        flag("deleted"),
    ),
    Row(
        "mutation($id: ID!) { deleteCategoryRule(id: $id) { deleted } }",
        CUSTOMER,
        lambda w: {"id": w["rule"]},
        flag("deleted"),
    ),
    Row(
        "mutation($id: ID!) { deleteBillReminder(id: $id) { deleted } }",
        CUSTOMER,
        lambda w: {"id": w["reminder"]},
        flag("deleted"),
    ),
    Row(
        "mutation($id: ID!) { revokeSession(id: $id) { revoked } }",
        CUSTOMER,
        lambda w: {"id": w["other_session"]},
        flag("revoked"),
    ),
    Row(
        "mutation($id: ID!) { removePasskey(id: $id) { __typename } }",
        CUSTOMER,
        lambda w: {"id": w["passkey"]},
        typename("PasskeyRemovedPayload"),
    ),
    Row(
        """mutation($b: ID!, $k: String!) { payBill(savedBillerId: $b, amount: "1.00",
        idempotencyKey: $k) { __typename } }""",
        CUSTOMER,
        lambda w: {"b": w["saved_biller"], "k": key()},
        typename("BillPaidPayload"),
    ),
    Row(
        """mutation($b: ID!, $at: DateTime!) { scheduleBillPayment(savedBillerId: $b,
        amount: "1.00", firstRun: $at) { __typename } }""",
        CUSTOMER,
        lambda w: {"b": w["saved_biller"], "at": tomorrow()},
        typename("BillSchedulePayload"),
    ),
    Row(
        """mutation($s: ID!) { updateBillSchedule(scheduleId: $s, amount: "2.00") {
        __typename } }""",
        CUSTOMER,
        lambda w: {"s": w["schedule_to_change"]},
        typename("BillSchedulePayload"),
    ),
    Row(
        "mutation($s: ID!) { cancelBillSchedule(scheduleId: $s) { __typename } }",
        CUSTOMER,
        lambda w: {"s": w["schedule_to_cancel"]},
        typename("BillSchedulePayload"),
    ),
    Row(
        "mutation($p: ID!) { confirmDelivery(paymentId: $p) { __typename } }",
        CUSTOMER,  # the marketplace's owner (the shop's) must not release it early
        lambda w: {"p": w["payment_escrow"]},
        typename("DeliveryConfirmedPayload"),
    ),
    Row(
        """mutation($p: ID!) { openDispute(paymentId: $p, reason: "Cold coffee") {
        __typename } }""",
        CUSTOMER,
        lambda w: {"p": w["payment_open"]},
        typename("DisputePayload"),
    ),
    Row(
        "query($id: ID!) { dispute(id: $id) { id status } }",
        CUSTOMER,  # the buyer
        lambda w: {"id": w["dispute"]},
        data,
        parties=frozenset({SHOP, SHOP_KEY}),  # the merchant disputed
    ),
]


def _rival_aims(**ids: str) -> dict[str, Callable[[World], dict[str, Any]]]:
    """Another merchant's staff and key, naming their own merchant and the shop's object."""

    def aim(w: World) -> dict[str, Any]:
        return {"m": w["rival_merchant"], **{var: w[name] for var, name in ids.items()}}

    return {RIVAL: aim, RIVAL_KEY: aim}


MERCHANT_ROWS = [
    Row(
        "query($m: ID!) { merchantBalances(merchantId: $m) { currency } }",
        SHOP,
        lambda w: {"m": w["merchant"]},
        data,
    ),
    Row(
        "query($m: ID!) { merchantPayments(merchantId: $m) { transactionId } }",
        SHOP,
        lambda w: {"m": w["merchant"]},
        data,
    ),
    Row(
        "query($m: ID!) { webhookDeliveries(merchantId: $m) { id } }",
        SHOP,
        lambda w: {"m": w["merchant"]},
        data,
    ),
    Row(
        "query($m: ID!) { nextPayouts(merchantId: $m) { currency net } }",
        SHOP,
        lambda w: {"m": w["merchant"]},
        data,
    ),
    Row(
        "query($m: ID!) { settlementBatches(merchantId: $m) { id } }",
        SHOP,
        lambda w: {"m": w["merchant"]},
        data,
    ),
    Row(
        "query($m: ID!, $b: ID!) { settlementReport(merchantId: $m, batchId: $b) }",
        SHOP,
        lambda w: {"m": w["merchant"], "b": w["batch"]},
        data,
        aimed=_rival_aims(b="batch"),
    ),
    Row(
        "query($m: ID!) { merchantDisputes(merchantId: $m) { id } }",
        SHOP,
        lambda w: {"m": w["merchant"]},
        data,
    ),
    Row(
        "query($id: ID!) { dispute(id: $id) { id status } }",
        SHOP,  # the merchant disputed
        lambda w: {"id": w["dispute"]},
        data,
        parties=frozenset({CUSTOMER}),  # the buyer
    ),
    Row(
        "query($r: String!) { merchantPaymentRequest(reference: $r) { id orderId } }",
        SHOP,
        lambda w: {"r": w["pos_request"]},
        data,
    ),
    Row(
        """mutation($m: ID!) { createPaymentRequest(input: {merchantId: $m, amount: "1.00"}) {
        __typename } }""",
        SHOP,
        lambda w: {"m": w["merchant"]},
        typename("PaymentRequestPayload"),
    ),
    Row(
        """mutation($m: ID!, $t: ID!, $k: String!) { refundPayment(input: {merchantId: $m,
        transactionId: $t, amount: "0.50", idempotencyKey: $k}) { __typename } }""",
        SHOP,
        lambda w: {"m": w["merchant"], "t": w["payment_refund"], "k": key()},
        typename("RefundPayload"),
        aimed={
            who: (lambda w: {"m": w["rival_merchant"], "t": w["payment_refund"], "k": key()})
            for who in (RIVAL, RIVAL_KEY)
        },
    ),
    Row(
        """mutation($r: ID!, $k: String!) { refundPaymentRequest(input: {requestId: $r,
        amount: "0.50", idempotencyKey: $k}) { __typename } }""",
        SHOP,
        lambda w: {"r": w["pos_request_paid"], "k": key()},
        typename("RefundPayload"),
    ),
    Row(
        "query($m: ID!) { merchantApiKeys(merchantId: $m) { id prefix } }",
        SHOP,
        lambda w: {"m": w["merchant"]},
        data,
    ),
    Row(
        """mutation($m: ID!, $k: ID!) { revokeMerchantApiKey(merchantId: $m, keyId: $k) {
        __typename } }""",
        SHOP,
        lambda w: {"m": w["merchant"], "k": w["spare_key"]},
        typename("ApiKeyRevokedPayload"),
        aimed=_rival_aims(k="spare_key"),
    ),
    Row(
        """mutation($m: ID!, $u: String!) { addMerchantStaff(merchantId: $m, username: $u,
        role: OWNER) { __typename } }""",
        SHOP,
        lambda w: {"m": w["merchant"], "u": w.usernames["new_cashier"]},
        typename("StaffPayload"),
    ),
    Row(
        """mutation($m: ID!, $u: String!) { removeMerchantStaff(merchantId: $m, username: $u) {
        __typename } }""",
        SHOP,
        lambda w: {"m": w["merchant"], "u": w.usernames["cashier"]},
        typename("StaffRemovedPayload"),
        aimed={
            who: (lambda w: {"m": w["rival_merchant"], "u": w.usernames["cashier"]})
            for who in (RIVAL, RIVAL_KEY)
        },
    ),
    Row(
        """mutation($m: ID!) { createMerchantApiKey(merchantId: $m, label: "till",
        scopes: [PAYMENTS_WRITE]) { __typename } }""",
        SHOP,
        lambda w: {"m": w["merchant"]},
        typename("ApiKeyPayload"),
    ),
    Row(
        """mutation($m: ID!) { setMerchantWebhook(merchantId: $m,
        url: "http://127.0.0.1:9/other") { __typename } }""",
        SHOP,
        lambda w: {"m": w["merchant"]},
        typename("WebhookEndpointPayload"),
    ),
    Row(
        """mutation($m: ID!, $d: ID!) { replayWebhookDelivery(merchantId: $m, deliveryId: $d) {
        __typename } }""",
        SHOP,
        lambda w: {"m": w["merchant"], "d": w["delivery"]},
        typename("WebhookDelivery"),
        aimed=_rival_aims(d="delivery"),
    ),
    Row(
        """mutation($d: ID!) { respondToDispute(disputeId: $d, response: "It was hot") {
        __typename } }""",
        SHOP,
        lambda w: {"d": w["dispute"]},
        typename("DisputePayload"),
    ),
    Row(
        "subscription($m: ID!) { merchantSales(merchantId: $m) { transactionId amount } }",
        SHOP,
        lambda w: {"m": w["merchant"]},
        # A sale of the shop's (an earlier row's may be delivered first).
        lambda answer: bool(answer.get("transactionId")) and bool(answer.get("amount")),
        trigger=lambda live, w: pay(live, w.tokens[CUSTOMER] or "", w["pos_request_for_sales"]),
    ),
    Row(
        "subscription($r: ID!) { paymentRequestUpdated(requestId: $r) { id status } }",
        SHOP,
        lambda w: {"r": w["pos_request_to_watch"]},
        lambda answer: answer["status"] == "PAID",
        trigger=lambda live, w: pay(live, w.tokens[CUSTOMER] or "", w["pos_request_to_watch"]),
    ),
]


def telling(row: Row) -> Row:
    """The row asking, besides the answer's type, what a refusal says (for failures)."""
    return replace(row, query=re.sub(r"\{\s*__typename\s*\}", TELLING, row.query))


ROWS = [telling(row) for row in CUSTOMER_ROWS + MERCHANT_ROWS]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """One world serves every row, so the quotes and step-up proofs made at the start must
    outlive the run; the shop's webhook points at a local port nobody answers."""
    return settings.replace(
        fx=settings.fx.replace(quote_seconds=3600),
        step_up=settings.step_up.replace(seconds=3600),
        merchants={"webhook_allow_private_targets": True},
    )


def refused(answer: Any) -> bool:
    """A refusal, or an empty answer: never the object itself."""
    if answer is None or answer == [] or answer in ({"deleted": False}, {"revoked": False}):
        return True
    return isinstance(answer, dict) and answer.get("__typename") in REFUSED


async def attempt(live: LiveServer, token: str | None, row: Row, variables: dict[str, Any]) -> Any:
    """The top-level field's value; None when it was refused with a top-level error."""
    if row.trigger is not None:
        return await _subscribe(live, token, row, variables)
    async with live.client() as http:
        body = await gql(http, row.query, variables, token=token)
    (value,) = (body.get("data") or {None: None}).values()
    errors = body.get("errors") or []
    codes = {(e.get("extensions") or {}).get("code") for e in errors}
    if errors and (value is not None or not codes <= REFUSED_CODES):
        return {"errors": errors}  # not a refusal: a failure to report
    return value


async def _subscribe(
    live: LiveServer, token: str | None, row: Row, variables: dict[str, Any]
) -> Any:
    """The subscription's first message: None for an error, LISTENING if it was taken."""
    async with websockets.connect(live.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        init = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        subscribe = {"query": row.query, "variables": variables}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        except TimeoutError:
            return LISTENING
    if message["type"] == "error":
        return None
    payload = message["payload"]
    codes = {(e.get("extensions") or {}).get("code") for e in payload.get("errors") or []}
    if payload.get("data") is None and codes and codes <= REFUSED_CODES:
        return None
    return payload


async def table_digests() -> dict[str, str]:
    """A digest of every table the app can read, but the audit log (each attempt is
    recorded there, as it should be)."""
    async with connection() as conn:
        tables = await conn.fetch(
            "SELECT quote_ident(relname) AS name FROM pg_class "
            "WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p') "
            "AND NOT relispartition AND relname <> 'audit_log' "
            "AND has_table_privilege(oid, 'SELECT') ORDER BY 1"
        )
        digests = " UNION ALL ".join(
            f"SELECT '{t['name']}', md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), "
            f"'')) FROM {t['name']} r"
            for t in tables
        )
        return {name: digest for name, digest in await conn.fetch(digests)}


async def owner_answer(live: LiveServer, w: World, row: Row) -> Any:
    token = w.tokens[row.owner]
    if row.trigger is None:
        return await attempt(live, token, row, row.variables(w))
    trigger = row.trigger
    event = await first_event(
        live,
        token or "",
        row.query,
        lambda: trigger(live, w),
        variables=row.variables(w),
    )
    (value,) = event.values()
    return value


async def check(live: LiveServer, w: World, row: Row) -> list[str]:
    """Every outsider is refused and changes nothing; then the owner gets the object.

    The owner comes last so that rows which delete, pay or close are tried on a live
    object; its success with the same arguments shows the row reached a real one."""
    failures = []
    before = await table_digests()
    for who in row.outsiders():
        tries = [row.variables(w)] + ([row.aimed[who](w)] if who in row.aimed else [])
        for variables in tries:
            answer = await attempt(live, w.tokens[who], row, variables)
            if not refused(answer):
                failures.append(f"{row.coordinate} as {who} with {variables}: {answer}")
    after = await table_digests()
    changed = sorted(t for t in before if before[t] != after.get(t))
    if changed:
        failures.append(f"{row.coordinate}: the outsiders' attempts changed {changed}")
    answer = await owner_answer(live, w, row)
    if not row.owner_gets(answer):
        failures.append(f"{row.coordinate} as its owner ({row.owner}): {answer}")
    return failures


async def test_nobody_but_the_owner_reaches_an_owned_object(live_server: LiveServer) -> None:
    world = await build_world(live_server)
    failures = [failure for row in ROWS for failure in await check(live_server, world, row)]
    assert failures == [], "\n".join(failures)
