"""The operators' ledger explorer (issue 16): accounts with balances found by code or
username, journal entries searched by account, transaction, reference, date and kind and
paged by id, one entry's postings, and an account's statement cut from its postings."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import call, send, token_for
from tests.ledger_helpers import posted, transfer, usd, wallet_account
from tests.merchant_helpers import PROFILE, verify_basic
from wallet.db.engine import connection, transaction
from wallet.ledger import explorer
from wallet.ledger import service as ledger
from wallet.ledger.models import EntryDraft, Purpose
from wallet.merchants.service import Onboarding, onboard
from wallet.money import Currency
from wallet.transactions import journal
from wallet.transactions import service as transactions
from wallet.transactions.models import TransactionStatus, TransactionType
from wallet.users.models import User

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

ACCOUNTS = """query($search: String, $ownerType: LedgerOwnerType, $first: Int!) {
  ledgerAccounts(search: $search, ownerType: $ownerType, first: $first) {
    id code ownerType ownerId ownerName purpose accountType currency posted status } }"""
ENTRY_FIELDS = """id kind description createdAt reversesId transactionId reference
  postings { id accountId accountCode side amount currency }"""
ENTRIES = f"""query($accountId: ID, $transactionId: ID, $reference: String, $from: Date,
  $to: Date, $kind: String, $first: Int!, $after: ID) {{
  journalEntries(accountId: $accountId, transactionId: $transactionId, reference: $reference,
    from: $from, to: $to, kind: $kind, first: $first, after: $after) {{ {ENTRY_FIELDS} }} }}"""
ENTRY = f"query($id: ID!) {{ journalEntry(id: $id) {{ {ENTRY_FIELDS} }} }}"
STATEMENT = """query($accountId: ID!, $from: Date, $to: Date, $first: Int!) {
  accountStatement(accountId: $accountId, from: $from, to: $to, first: $first) { __typename
    ... on AccountStatement { accountId accountCode currency normalSide from to position
      opening closing complete
      lines { position entryId kind description side amount balanceAfter createdAt postedAt } }
    ... on ValidationError { fieldErrors { field code } }
    ... on NotFound { code } } }"""


async def operator(live: LiveServer, role: str = "support") -> str:
    user = await make_user()
    async with connection() as conn:
        await conn.execute("UPDATE app_user SET operator_role = $2 WHERE id = $1", user.id, role)
    return await token_for(live, user)


async def entries(live: LiveServer, token: str, first: int = 50, **filters: Any) -> list[Any]:
    found = await call(live, token, ENTRIES, {"first": first, **filters})
    assert found is not None
    return list(found)


def balanced(entry: dict[str, Any]) -> bool:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for p in entry["postings"]:
        totals[p["currency"]] += Decimal(p["amount"]) * (1 if p["side"] == "D" else -1)
    return len(entry["postings"]) >= 2 and all(v == 0 for v in totals.values())


async def alice_who_sent_three(live: LiveServer) -> tuple[User, User, str, list[str]]:
    """Alice (40.00 of promotional credit) sent bob 1.00, 2.00 and 3.00: (alice, bob,
    her token, the three transaction ids in order)."""
    alice, bob = await make_user(balance="40.00"), await make_user()
    token = await token_for(live, alice)
    sent = []
    for amount in ("1.00", "2.00", "3.00"):
        result = await send(live, token, bob.username, amount)
        assert result["__typename"] == "SendMoneyPayload", result
        sent.append(result["transfer"]["id"])
    return alice, bob, token, sent


async def test_accounts_are_found_by_code_or_username_with_their_balances(
    live_server: LiveServer,
) -> None:
    alice = await make_user(balance="40.00")
    owner = await make_user()
    await verify_basic(owner.id)
    shop = await onboard(Onboarding(owner.id, "Kiosk Nine", "5814", "US", "SF", profile=PROFILE))
    token = await operator(live_server)

    by_name = await call(
        live_server, token, ACCOUNTS, {"search": f"@{alice.username}", "first": 50}
    )
    wallet = next(a for a in by_name if a["purpose"] == Purpose.WALLET)
    assert wallet == {
        "id": str(await wallet_account(alice.id)),
        "code": f"user:{alice.id}:USD:wallet",
        "ownerType": "USER",
        "ownerId": str(alice.id),
        "ownerName": alice.username,
        "purpose": "wallet",
        "accountType": "LIABILITY",
        "currency": "USD",
        "posted": "40.00",
        "status": "ACTIVE",
    }
    by_code = await call(live_server, token, ACCOUNTS, {"search": "promotional_fund", "first": 50})
    assert by_code and all("promotional_fund" in a["code"] for a in by_code)
    promo = next(a for a in by_code if a["code"] == "system:USD:promotional_funding")
    assert (promo["ownerType"], promo["ownerName"]) == ("SYSTEM", None)
    assert (promo["accountType"], promo["posted"]) == ("EXPENSE", "40.00")
    merchants = await call(live_server, token, ACCOUNTS, {"ownerType": "MERCHANT", "first": 50})
    payable = next(a for a in merchants if a["ownerId"] == str(shop.id))
    assert (payable["ownerName"], payable["purpose"], payable["posted"]) == (
        "Kiosk Nine",
        "payable",
        "0.00",
    )
    systems = await call(live_server, token, ACCOUNTS, {"ownerType": "SYSTEM", "first": 200})
    assert systems and {a["ownerType"] for a in systems} == {"SYSTEM"}
    assert [a["code"] for a in systems] == sorted(a["code"] for a in systems)
    # A wildcard in the search is taken literally; the page size is honoured.
    assert await call(live_server, token, ACCOUNTS, {"search": "%", "first": 50}) == []
    assert len(await call(live_server, token, ACCOUNTS, {"first": 2})) == 2


async def test_entries_of_an_account_come_newest_first_a_page_at_a_time(
    live_server: LiveServer,
) -> None:
    alice, bob, _, sent = await alice_who_sent_three(live_server)
    token = await operator(live_server)
    account = str(await wallet_account(alice.id))

    every = await entries(live_server, token, accountId=account)
    assert len(every) == 4  # the opening credit and three sends
    assert [int(e["id"]) for e in every] == sorted((int(e["id"]) for e in every), reverse=True)
    assert all(account in {p["accountId"] for p in e["postings"]} for e in every)
    assert all(balanced(e) for e in every)
    assert [e["transactionId"] for e in every[:3]] == list(reversed(sent))
    mine = [next(p for p in e["postings"] if p["accountId"] == account) for e in every]
    assert [(p["side"], p["amount"]) for p in mine] == [
        ("D", "3.00"),
        ("D", "2.00"),
        ("D", "1.00"),
        ("C", "40.00"),
    ]
    first_page = await entries(live_server, token, first=3, accountId=account)
    second_page = await entries(
        live_server, token, first=3, accountId=account, after=first_page[-1]["id"]
    )
    assert [e["id"] for e in first_page + second_page] == [e["id"] for e in every]
    # Without an account: every entry, paged the same way.
    everything = await entries(live_server, token, first=200)
    assert {e["id"] for e in every} <= {e["id"] for e in everything}
    page = await entries(live_server, token, first=2, after=everything[1]["id"])
    assert [e["id"] for e in page] == [e["id"] for e in everything[2:4]]
    # Bob's account sees the three sends only.
    bobs = await entries(live_server, token, accountId=str(await wallet_account(bob.id)))
    assert [e["transactionId"] for e in bobs] == list(reversed(sent))


async def test_entries_are_found_by_transaction_by_reference_and_by_date_and_kind(
    live_server: LiveServer,
) -> None:
    alice, _, _, sent = await alice_who_sent_three(live_server)
    token = await operator(live_server)
    async with transaction() as conn:
        wallet = await wallet_account(alice.id)
        funding = await ledger.system_account_id(conn, Currency.USD, Purpose.PROMOTIONAL_FUNDING)
        entry_id = await ledger.post_entry(
            conn,
            EntryDraft.transfer(
                "promotional_credit", funding, wallet, usd(500), "goodwill for ticket 7781"
            ),
        )
        goodwill, _ = await transactions.create(
            conn,
            transactions.NewTransaction(
                type=TransactionType.PROMOTIONAL_CREDIT,
                amount=usd(500),
                initiator_user_id=None,
                counterparty_user_id=alice.id,
                gateway_ref="ch_explorer_0042",
            ),
        )
        await transactions.transition(
            conn, goodwill, TransactionStatus.COMPLETED, entry_id=entry_id
        )

    (by_transaction,) = await entries(live_server, token, transactionId=sent[1])
    assert by_transaction["transactionId"] == sent[1]
    assert {p["amount"] for p in by_transaction["postings"]} == {"2.00"}
    (by_reference,) = await entries(live_server, token, reference="ch_explorer_0042")
    assert (by_reference["id"], by_reference["transactionId"]) == (str(entry_id), str(goodwill))
    assert by_reference["reference"] == "ch_explorer_0042"
    (by_description,) = await entries(live_server, token, reference="ticket 7781")
    assert by_description["id"] == str(entry_id)
    assert await entries(live_server, token, reference="no such reference") == []
    # Filters combine: the transaction's entry is not the goodwill's.
    assert await entries(live_server, token, transactionId=sent[1], reference="ticket") == []
    assert await entries(live_server, token, transactionId="999999999") == []
    assert await entries(live_server, token, transactionId="not-a-number") == []

    today = datetime.now(UTC).date()
    account = str(await wallet_account(alice.id))
    todays = await entries(live_server, token, accountId=account, **{"from": str(today)})
    assert len(todays) == 5
    assert len(await entries(live_server, token, accountId=account, to=str(today))) == 5
    tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=1)
    assert await entries(live_server, token, accountId=account, **{"from": str(tomorrow)}) == []
    assert await entries(live_server, token, accountId=account, to=str(yesterday)) == []
    sends = await entries(live_server, token, accountId=account, kind=todays[1]["kind"])
    assert {e["transactionId"] for e in sends} == set(sent)
    assert await entries(live_server, token, accountId=account, kind="no_such_kind") == []


async def test_one_entry_has_its_postings_and_they_balance(live_server: LiveServer) -> None:
    alice, bob, _, sent = await alice_who_sent_three(live_server)
    token = await operator(live_server, "compliance")
    (listed,) = await entries(live_server, token, transactionId=sent[0])
    entry = await call(live_server, token, ENTRY, {"id": listed["id"]})
    assert entry == listed
    assert balanced(entry)
    codes = {p["accountCode"]: (p["side"], p["amount"]) for p in entry["postings"]}
    assert codes == {
        f"user:{alice.id}:USD:wallet": ("D", "1.00"),
        f"user:{bob.id}:USD:wallet": ("C", "1.00"),
    }
    assert await call(live_server, token, ENTRY, {"id": "999999999"}) is None
    assert await call(live_server, token, ENTRY, {"id": "x"}) is None


def signed(line: dict[str, Any], normal_side: str) -> Decimal:
    return Decimal(line["amount"]) * (1 if line["side"] == normal_side else -1)


async def test_an_account_statement_runs_from_opening_through_its_postings_to_closing(
    live_server: LiveServer,
) -> None:
    alice, _, _, _ = await alice_who_sent_three(live_server)
    token = await operator(live_server, "admin")
    account = str(await wallet_account(alice.id))

    whole = await call(live_server, token, STATEMENT, {"accountId": account, "first": 200})
    assert whole["__typename"] == "AccountStatement"
    assert (whole["accountCode"], whole["normalSide"], whole["opening"]) == (
        f"user:{alice.id}:USD:wallet",
        "C",
        "0.00",
    )
    assert [line["position"] for line in whole["lines"]] == [1, 2, 3, 4]
    assert [line["balanceAfter"] for line in whole["lines"]] == [
        "40.00",
        "39.00",
        "37.00",
        "34.00",
    ]
    total = Decimal(whole["opening"]) + sum(signed(x, "C") for x in whole["lines"])
    assert total == Decimal(whole["closing"]) == Decimal("34.00")
    assert whole["complete"] is True and whole["position"] == 4
    (listed,) = [
        a
        for a in await call(live_server, token, ACCOUNTS, {"search": alice.username, "first": 5})
        if a["id"] == account
    ]
    assert listed["posted"] == whole["closing"]

    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    later = await call(
        live_server, token, STATEMENT, {"accountId": account, "from": str(tomorrow), "first": 9}
    )
    assert (later["opening"], later["lines"], later["closing"]) == ("34.00", [], "34.00")
    period = await call(
        live_server,
        token,
        STATEMENT,
        {"accountId": account, "from": str(today), "to": str(today), "first": 200},
    )
    assert (period["from"], period["to"], period["closing"]) == (str(today), str(today), "34.00")
    assert len(period["lines"]) == 4
    short = await call(live_server, token, STATEMENT, {"accountId": account, "first": 2})
    assert (len(short["lines"]), short["complete"], short["closing"]) == (2, False, "34.00")

    backwards = await call(
        live_server,
        token,
        STATEMENT,
        {"accountId": account, "from": str(tomorrow), "to": str(today), "first": 9},
    )
    assert backwards == {
        "__typename": "ValidationError",
        "fieldErrors": [{"field": "from", "code": "INVALID_PERIOD"}],
    }
    for unknown in ("999999999", "nope"):
        missing = await call(live_server, token, STATEMENT, {"accountId": unknown, "first": 9})
        assert missing == {"__typename": "NotFound", "code": "NOT_FOUND"}


async def test_a_system_account_statement_matches_its_balance(live_server: LiveServer) -> None:
    await make_user(balance="12.50")
    await make_user(balance="7.25")
    token = await operator(live_server)
    (promo,) = await call(
        live_server, token, ACCOUNTS, {"search": "system:USD:promotional_fund", "first": 5}
    )
    made = await call(live_server, token, STATEMENT, {"accountId": promo["id"], "first": 200})
    assert made["normalSide"] == "D"
    total = Decimal(made["opening"]) + sum(signed(x, "D") for x in made["lines"])
    assert total == Decimal(made["closing"]) == Decimal(promo["posted"]) == Decimal("19.75")


async def test_a_hot_accounts_postings_are_listed_by_position_once_rolled_up(
    database_url: str,
) -> None:
    alice, star = await make_user(balance="30.00"), await make_user()
    a, s = await wallet_account(alice.id), await wallet_account(star.id)
    first = await transfer(a, s, 100)  # before it is hot: a position of its own
    async with transaction() as conn:
        await ledger.set_hot(conn, s, True)
    later = [await transfer(a, s, minor) for minor in (250, 400)]  # queued, no lock
    async with connection() as conn:
        await ledger.roll_up_hot_accounts(conn)

    page = await journal.find_entries(explorer.EntrySearch(account_id=s, first=2))
    assert [e.entry.id for e in page] == list(reversed(later))
    rest = await journal.find_entries(
        explorer.EntrySearch(account_id=s, first=2, after=page[-1].entry.id)
    )
    assert [e.entry.id for e in rest] == [first]
    await transfer(a, s, 50)  # queued: the statement's cut rolls it up
    async with transaction() as conn:
        made = await explorer.statement(conn, s, None, None)
    assert [line.balance_after.amount_minor for line in made.lines] == [100, 350, 750, 800]
    assert made.closing.amount_minor == 800 == await posted(s)


async def test_the_explorer_is_for_operators_only(live_server: LiveServer) -> None:
    customer = await make_user(balance="5.00")
    account = str(await wallet_account(customer.id))
    token = await token_for(live_server, customer)
    for query, variables in [
        (ACCOUNTS, {"first": 5}),
        (ENTRIES, {"first": 5, "accountId": account}),
        (ENTRY, {"id": "1"}),
        (STATEMENT, {"accountId": account, "first": 5}),
    ]:
        assert await call(live_server, token, query, variables) is None
        assert await call(live_server, None, query, variables) is None
    # A merchant-side role is not a ledger reader either.
    mediator = await operator(live_server, "mediator")
    assert await call(live_server, mediator, ACCOUNTS, {"first": 5}) is None


async def plan_of(sql: str, *values: Any) -> str:
    """The plan with scans and sorts off: the path the indexes offer (the test's tables
    are too small for the planner to prefer it on its own)."""
    async with transaction() as conn:
        for planner_choice in ("seqscan", "bitmapscan", "sort"):
            await conn.execute(f"SET LOCAL enable_{planner_choice} = off")
        return "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {sql}", *values))


def walks_the_chain(plan: str, direction: str) -> bool:
    """Both halves of the account's chain walked down their index in order, a page from
    each; only those pages sorted together, if anything is; no sequential scan. (posting
    is partitioned by month: its half is each partition's copy of posting_chain_idx,
    merged in order by a Merge Append, which sorts nothing.)"""
    posting_chain = re.compile(
        rf"Index Scan{direction} using posting_\w*(chain_idx|account_id_posted_at_account_seq_idx)"
        r" on posting\w* p"
    )
    sorts = re.findall(r"(?:^|->  )Sort  \(", plan, re.MULTILINE)
    return (
        posting_chain.search(plan) is not None
        and f"Index Scan{direction} using posting_snapshot_chain_idx on posting_snapshot" in plan
        and "Seq Scan" not in plan
        and len(sorts) <= 1
    )


async def test_an_account_filter_walks_the_accounts_chain_not_every_entry(
    database_url: str,
) -> None:
    search = explorer.EntrySearch(account_id=1, kind="p2p", after=10, first=50)
    sql, values = explorer._entry_query(search, (datetime.now(UTC), 10))
    plan = await plan_of(sql, *values)
    assert walks_the_chain(plan, " Backward"), plan
    assert re.search(r"journal_entry_\w*pkey", plan), plan


async def test_a_statement_walks_the_accounts_chain_from_its_start(database_url: str) -> None:
    now = datetime.now(UTC)
    lines = await plan_of(explorer._LINES, 1, now - timedelta(days=1), now, 10, 201)
    assert walks_the_chain(lines, ""), lines
    opening = await plan_of(explorer._BALANCE_BEFORE, 1, now, 10)
    assert walks_the_chain(opening, " Backward"), opening
