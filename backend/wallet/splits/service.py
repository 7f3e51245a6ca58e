"""Bill splitting: groups, shared expenses, who owes whom, and settling up.

A member's net position in a currency is what they paid for the group, less their
shares, plus settlements they paid, less settlements they received. Settling up turns
the fewest payments that square the group (`arithmetic.simplify_debts`) into real
movements for the member who asks: transfers for what they owe (now, all or nothing)
and money requests for what they are owed. Requests count once paid; a member who pays
directly cancels the open requests that asked for the same debt.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from wallet.db.engine import Connection, connection, transaction
from wallet.fraud.service import Screening, recording_blocks
from wallet.idempotency import service as idempotency
from wallet.money import Currency, Money
from wallet.requests.service import cancel_open_requests, open_request
from wallet.security.stepup import LargeAmountCheck
from wallet.splits.arithmetic import InvalidSplit, SplitMethod, simplify_debts, split_amount
from wallet.splits.errors import (
    GroupNotFound,
    InvalidGroup,
    NotAMember,
    NothingToSettle,
    NotSplittable,
    SplitDoesNotAddUp,
)
from wallet.transfers.errors import NonPositiveAmount, RecipientNotFound, WalletUnavailable
from wallet.transfers.service import (
    can_receive,
    find_recipient,
    recipient_lookup,
    transfer_between_users,
)

MAX_MEMBERS = 50
MAX_NAME = 80
MAX_DESCRIPTION = 140


@dataclass(frozen=True, slots=True)
class Member:
    user_id: int
    username: str


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    name: str
    created_by: int
    members: list[Member]


@dataclass(frozen=True, slots=True)
class Share:
    member: Member
    amount: Money


@dataclass(frozen=True, slots=True)
class Expense:
    id: int
    description: str
    amount: Money
    paid_by: Member
    method: SplitMethod
    shares: list[Share]
    transaction_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Position:
    member: Member
    net: Money  # positive: the group owes them; negative: they owe the group


@dataclass(frozen=True, slots=True)
class SuggestedPayment:
    payer: Member
    payee: Member
    amount: Money


@dataclass(frozen=True, slots=True)
class GroupView:
    group: Group
    positions: list[Position]
    suggested: list[SuggestedPayment]
    expenses: list[Expense]


@dataclass(frozen=True, slots=True)
class NewExpense:
    group_id: int
    description: str
    amount: Money
    method: SplitMethod
    paid_by: str | None = None  # a member's username; the author when None
    among: list[str] = field(default_factory=list)  # usernames; everyone when empty
    # Per username: minor-unit decimals for EXACT (in major units, e.g. "12.50"),
    # percentages for PERCENT, weights for SHARES.
    values: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SettleUpReceipt:
    """What `settle_up` did; replayed verbatim for a repeated idempotency key."""

    transfers: list[dict[str, Any]]  # {"to": username, "amount_minor", "transaction_id"}
    requests: list[dict[str, Any]]  # {"from": username, "amount_minor", "request_id"}
    currency: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SettleUpReceipt:
        return cls(**data)


async def _resolve(conn: Connection, contacts: list[str]) -> list[Member]:
    """Registered users for phones, emails or usernames (all must exist)."""
    members: list[Member] = []
    for contact in contacts:
        column, value = recipient_lookup(contact)
        user_id, username, _ = await find_recipient(conn, column, value)
        members.append(Member(user_id, username))
    return members


async def _members(conn: Connection, group_id: int) -> list[Member]:
    rows = await conn.fetch(
        "SELECT u.id, u.username FROM split_group_member m JOIN app_user u ON u.id = m.user_id "
        "WHERE m.group_id = $1 ORDER BY u.id",
        group_id,
    )
    return [Member(int(r["id"]), r["username"]) for r in rows]


async def _group(conn: Connection, group_id: int, viewer_id: int, *, lock: bool = False) -> Group:
    """The group if the viewer is a member (others get GroupNotFound, never the group)."""
    sql = (
        "SELECT g.id, g.name, g.created_by FROM split_group g "
        "JOIN split_group_member m ON m.group_id = g.id AND m.user_id = $2 WHERE g.id = $1"
    )
    row = await conn.fetchrow(f"{sql} FOR UPDATE OF g" if lock else sql, group_id, viewer_id)
    if row is None:
        raise GroupNotFound()
    members = await _members(conn, group_id)
    return Group(int(row["id"]), row["name"], int(row["created_by"]), members)


def _clean_name(name: str) -> str:
    text = " ".join(name.split())
    if not 1 <= len(text) <= MAX_NAME:
        raise InvalidGroup("name", f"Give the group a name of 1 to {MAX_NAME} characters")
    return text


async def _add(conn: Connection, group_id: int, members: list[Member]) -> None:
    await conn.execute(
        "INSERT INTO split_group_member (group_id, user_id) SELECT $1, unnest($2::bigint[]) "
        "ON CONFLICT DO NOTHING",
        group_id,
        [m.user_id for m in members],
    )
    count = await conn.fetchval(
        "SELECT count(*) FROM split_group_member WHERE group_id = $1", group_id
    )
    if count > MAX_MEMBERS:
        raise InvalidGroup("members", f"A group has at most {MAX_MEMBERS} members")


async def create_group(creator_id: int, name: str, contacts: list[str]) -> Group:
    """A new group of the creator and the registered users behind `contacts`."""
    clean = _clean_name(name)
    async with transaction() as conn:
        try:
            members = await _resolve(conn, contacts)
        except RecipientNotFound as exc:
            raise InvalidGroup("members", str(exc)) from None
        group_id = await conn.fetchval(
            "INSERT INTO split_group (name, created_by) VALUES ($1, $2) RETURNING id",
            clean,
            creator_id,
        )
        creator = await conn.fetchval("SELECT username FROM app_user WHERE id = $1", creator_id)
        await _add(conn, int(group_id), [Member(creator_id, creator), *members])
        return await _group(conn, int(group_id), creator_id)


async def add_members(user_id: int, group_id: int, contacts: list[str]) -> Group:
    async with transaction() as conn:
        await _group(conn, group_id, user_id, lock=True)
        try:
            members = await _resolve(conn, contacts)
        except RecipientNotFound as exc:
            raise InvalidGroup("members", str(exc)) from None
        await _add(conn, group_id, members)
        return await _group(conn, group_id, user_id)


async def groups_of(user_id: int) -> list[Group]:
    """The user's groups, newest first, with their members: two reads however many."""
    async with connection() as conn:
        groups = await conn.fetch(
            "SELECT g.id, g.name, g.created_by FROM split_group g "
            "JOIN split_group_member m ON m.group_id = g.id WHERE m.user_id = $1 "
            "ORDER BY g.id DESC",
            user_id,
        )
        members = await conn.fetch(
            "SELECT m.group_id, u.id, u.username FROM split_group_member m "
            "JOIN app_user u ON u.id = m.user_id WHERE m.group_id = ANY($1::bigint[]) "
            "ORDER BY u.id",
            [g["id"] for g in groups],
        )
    by_group: dict[int, list[Member]] = defaultdict(list)
    for r in members:
        by_group[int(r["group_id"])].append(Member(int(r["id"]), r["username"]))
    return [
        Group(int(g["id"]), g["name"], int(g["created_by"]), by_group[int(g["id"])]) for g in groups
    ]


def _shares(group: Group, new: NewExpense) -> dict[int, int]:
    by_name = {m.username.lower(): m for m in group.members}

    def member(username: str, field: str) -> Member:
        found = by_name.get(username.strip().removeprefix("@").lower())
        if found is None:
            raise NotAMember(username, field)
        return found

    among = [member(u, "among") for u in new.among] or group.members
    values: dict[int, Decimal] = {}
    for username, value in new.values.items():
        who = member(username, "values")
        if new.method is SplitMethod.EXACT:
            try:
                value = Decimal(Money.parse(str(value), new.amount.currency).amount_minor)
            except ValueError as exc:
                raise SplitDoesNotAddUp(str(exc)) from None
        values[who.user_id] = value
    try:
        return split_amount(
            new.amount.amount_minor, new.method, [m.user_id for m in among], values or None
        )
    except InvalidSplit as exc:
        raise SplitDoesNotAddUp(str(exc)) from None


async def _record_expense(
    conn: Connection,
    group: Group,
    author_id: int,
    new: NewExpense,
    paid_by: Member,
    transaction_id: int | None = None,
) -> int:
    description = " ".join(new.description.split())
    if not 1 <= len(description) <= MAX_DESCRIPTION:
        raise InvalidGroup("description", f"Describe it in 1 to {MAX_DESCRIPTION} characters")
    if not new.amount.is_positive:
        raise NonPositiveAmount()
    shares = _shares(group, new)
    expense_id = await conn.fetchval(
        "INSERT INTO split_expense (group_id, paid_by, description, currency, amount, method, "
        "created_by, transaction_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        group.id,
        paid_by.user_id,
        description,
        new.amount.currency.value,
        new.amount.amount_minor,
        new.method.value,
        author_id,
        transaction_id,
    )
    await conn.execute(
        "INSERT INTO split_share (expense_id, user_id, amount) "
        "SELECT $1, u, a FROM unnest($2::bigint[], $3::bigint[]) AS s (u, a)",
        expense_id,
        list(shares),
        list(shares.values()),
    )
    return int(expense_id)


async def add_expense(user_id: int, new: NewExpense) -> Expense:
    """Record an expense one member paid, split among members by `new.method`."""
    async with transaction() as conn:
        group = await _group(conn, new.group_id, user_id)
        payer = user_id
        if new.paid_by:
            names = {m.username.lower(): m.user_id for m in group.members}
            found = names.get(new.paid_by.strip().removeprefix("@").lower())
            if found is None:
                raise NotAMember(new.paid_by, "paidBy")
            payer = found
        paid_by = next(m for m in group.members if m.user_id == payer)
        expense_id = await _record_expense(conn, group, user_id, new, paid_by)
        return (await _expenses(conn, group, [expense_id]))[0]


async def split_payment(user_id: int, transaction_id: int, new: NewExpense) -> Expense:
    """Split one of the user's completed merchant payments with a group, after the fact."""
    async with transaction() as conn:
        group = await _group(conn, new.group_id, user_id)
        row = await conn.fetchrow(
            "SELECT t.type, t.status, t.currency, t.amount, m.name FROM money_transaction t "
            "LEFT JOIN merchant m ON m.id = t.merchant_id "
            "WHERE t.id = $1 AND t.initiator_user_id = $2",
            transaction_id,
            user_id,
        )
        if row is None or row["type"] != "payment":
            raise NotSplittable("it is not one of your merchant payments")
        if row["status"] != "completed":
            raise NotSplittable(f"it is {row['status']}")
        if await conn.fetchval(
            "SELECT 1 FROM split_expense WHERE transaction_id = $1", transaction_id
        ):
            raise NotSplittable("it is already split")
        paid = Money(int(row["amount"]), Currency(row["currency"]))
        expense = NewExpense(
            group_id=new.group_id,
            description=new.description or row["name"] or "Merchant payment",
            amount=paid,
            method=new.method,
            among=new.among,
            values=new.values,
        )
        me = next(m for m in group.members if m.user_id == user_id)
        expense_id = await _record_expense(conn, group, user_id, expense, me, transaction_id)
        return (await _expenses(conn, group, [expense_id]))[0]


async def _expenses(conn: Connection, group: Group, ids: list[int] | None = None) -> list[Expense]:
    by_id = {m.user_id: m for m in group.members}
    rows = await conn.fetch(
        "SELECT id, description, currency, amount, paid_by, method, transaction_id, created_at "
        "FROM split_expense WHERE group_id = $1 AND ($2::bigint[] IS NULL OR id = ANY($2)) "
        "ORDER BY id DESC LIMIT 100",
        group.id,
        ids,
    )
    share_rows = await conn.fetch(
        "SELECT expense_id, user_id, amount FROM split_share WHERE expense_id = ANY($1::bigint[]) "
        "ORDER BY user_id",
        [int(r["id"]) for r in rows],
    )
    shares: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for s in share_rows:
        shares[int(s["expense_id"])].append((int(s["user_id"]), int(s["amount"])))
    expenses = []
    for r in rows:
        currency = Currency(r["currency"])
        expenses.append(
            Expense(
                id=int(r["id"]),
                description=r["description"],
                amount=Money(int(r["amount"]), currency),
                paid_by=by_id[int(r["paid_by"])],
                method=SplitMethod(r["method"]),
                shares=[Share(by_id[u], Money(a, currency)) for u, a in shares[int(r["id"])]],
                transaction_id=r["transaction_id"],
                created_at=r["created_at"],
            )
        )
    return expenses


async def _nets(conn: Connection, group_id: int) -> dict[Currency, dict[int, int]]:
    rows = await conn.fetch(
        """
        SELECT user_id, currency, sum(delta)::bigint AS net FROM (
            SELECT paid_by AS user_id, currency, amount AS delta
              FROM split_expense WHERE group_id = $1
            UNION ALL
            SELECT s.user_id, e.currency, -s.amount
              FROM split_share s JOIN split_expense e ON e.id = s.expense_id
             WHERE e.group_id = $1
            UNION ALL
            SELECT side.user_id, st.currency, side.sign * st.amount
              FROM split_settlement st
              LEFT JOIN money_request r ON r.id = st.money_request_id
              CROSS JOIN LATERAL (VALUES (st.from_user, 1), (st.to_user, -1))
                   AS side (user_id, sign)
             WHERE st.group_id = $1 AND (st.transaction_id IS NOT NULL OR r.status = 'paid')
        ) moves GROUP BY user_id, currency
        """,
        group_id,
    )
    nets: dict[Currency, dict[int, int]] = defaultdict(dict)
    for r in rows:
        nets[Currency(r["currency"])][int(r["user_id"])] = int(r["net"])
    return nets


async def group_view(user_id: int, group_id: int) -> GroupView:
    async with connection() as conn:
        group = await _group(conn, group_id, user_id)
        nets = await _nets(conn, group_id)
        expenses = await _expenses(conn, group)
    by_id = {m.user_id: m for m in group.members}
    positions = [
        Position(by_id[u], Money(v, currency))
        for currency, net in sorted(nets.items(), key=lambda kv: kv[0].value)
        for u, v in sorted(net.items())
        if v != 0
    ]
    suggested = [
        SuggestedPayment(by_id[p.payer], by_id[p.payee], Money(p.amount, currency))
        for currency, net in sorted(nets.items(), key=lambda kv: kv[0].value)
        for p in simplify_debts(net)
    ]
    return GroupView(group, positions, suggested, expenses)


async def settle_up(
    user_id: int,
    group_id: int,
    currency: Currency,
    idempotency_key: str,
    request_days: int = 30,
    large_amount: LargeAmountCheck | None = None,
    screening: Screening | None = None,
) -> SettleUpReceipt:
    """Pay what the user owes in `currency` and ask for what they are owed, by the fewest
    payments that square the group. Transfers happen now, all or none; above the step-up
    threshold (their sum) they need a second factor proven lately; with `screening`, the
    fraud rules score each transfer first."""
    principal = f"user:{user_id}"
    request_fingerprint = idempotency.fingerprint(
        {"op": "settleUp", "group": group_id, "currency": currency.value}
    )
    async with recording_blocks(), transaction() as conn:
        replay = await idempotency.claim(conn, principal, idempotency_key, request_fingerprint)
        if replay is not None:
            return SettleUpReceipt.from_json(replay)
        group = await _group(conn, group_id, user_id, lock=True)
        by_id = {m.user_id: m for m in group.members}
        # Asking twice for one debt would let it be paid twice: the user's own direct
        # payments supersede requests that asked them for the same money.
        open_asks = await conn.fetch(
            "SELECT st.money_request_id FROM split_settlement st "
            "JOIN money_request r ON r.id = st.money_request_id "
            "WHERE st.group_id = $1 AND st.currency = $2 AND r.status = 'open' "
            "AND (st.from_user = $3 OR st.to_user = $3)",
            group_id,
            currency.value,
            user_id,
        )
        await cancel_open_requests(conn, [int(r["money_request_id"]) for r in open_asks])
        plan = [
            p
            for p in simplify_debts((await _nets(conn, group_id)).get(currency, {}))
            if user_id in (p.payer, p.payee)
        ]
        if not plan:
            raise NothingToSettle(currency.value)
        transfers: list[dict[str, Any]] = []
        requests: list[dict[str, Any]] = []
        note = f"Settle up: {group.name}"
        for p in plan:
            amount = Money(p.amount, currency)
            if p.payer == user_id:
                status = await conn.fetchval(
                    "SELECT status FROM wallet WHERE user_id = $1", p.payee
                )
                if not can_receive(status):
                    raise WalletUnavailable(f"@{by_id[p.payee].username}'s", status)
                transaction_id, _ = await transfer_between_users(
                    conn,
                    sender_id=user_id,
                    recipient_id=p.payee,
                    amount=amount,
                    note=note,
                    screening=screening,
                )
                await _record_settlement(conn, group_id, p.payer, p.payee, amount, transaction_id)
                transfers.append(
                    {
                        "to": by_id[p.payee].username,
                        "amount_minor": p.amount,
                        "transaction_id": transaction_id,
                    }
                )
            else:
                request = await open_request(
                    conn,
                    requester_id=user_id,
                    payer_id=p.payer,
                    amount=amount,
                    note=note,
                    expires_in=timedelta(days=request_days),
                )
                await _record_settlement(
                    conn, group_id, p.payer, p.payee, amount, request_id=request.id
                )
                requests.append(
                    {
                        "from": by_id[p.payer].username,
                        "amount_minor": p.amount,
                        "request_id": request.id,
                    }
                )
        paying = Money(sum(t["amount_minor"] for t in transfers), currency)
        if large_amount is not None and paying.is_positive:
            await large_amount.require(user_id, paying, "settle this much")
        receipt = SettleUpReceipt(transfers, requests, currency.value)
        await idempotency.remember(
            conn, principal, idempotency_key, request_fingerprint, receipt.to_json()
        )
        return receipt


async def _record_settlement(
    conn: Connection,
    group_id: int,
    payer: int,
    payee: int,
    amount: Money,
    transaction_id: int | None = None,
    request_id: int | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO split_settlement (group_id, from_user, to_user, currency, amount, "
        "transaction_id, money_request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        group_id,
        payer,
        payee,
        amount.currency.value,
        amount.amount_minor,
        transaction_id,
        request_id,
    )
