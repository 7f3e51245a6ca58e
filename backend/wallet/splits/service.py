"""Bill splitting: groups, invitations, shared expenses, who owes whom, settling up.

Nobody is put in a group without saying yes: adding someone makes an invitation, which
they accept or decline, and only members (who accepted, or created the group) can be
named in expenses or count in balances and settle-ups. An invitation to an email or
phone is made alike whether or not a wallet has it (an invite goes out if none does),
so adding people never tells who is registered.

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

from piccolo.querystring import QueryString

from wallet.commands import rules
from wallet.commands.actor import Actor
from wallet.commands.runner import Command, run
from wallet.db.engine import Connection, connection, transaction
from wallet.db.tables import database_now
from wallet.errors import NonPositiveAmount
from wallet.fraud.service import PaymentBlocked, recording_blocks
from wallet.ledger.errors import AccountNotActive, InsufficientFunds
from wallet.limits.service import LimitExceeded
from wallet.money import Currency, Money
from wallet.outbox.service import Topic, emit
from wallet.rates import RatesUnavailable
from wallet.requests.service import cancel_open_requests, open_request
from wallet.requests.tables import MoneyRequest
from wallet.security.stepup import StepUpRequired
from wallet.splits import queries
from wallet.splits.arithmetic import (
    InvalidSplit,
    Payment,
    SplitMethod,
    simplify_debts,
    split_amount,
)
from wallet.splits.errors import (
    GroupNotFound,
    InvalidGroup,
    InvitationNotFound,
    InvitationPending,
    NotAMember,
    NothingToSettle,
    NotSplittable,
    SplitDoesNotAddUp,
)
from wallet.splits.tables import (
    SplitExpense,
    SplitGroup,
    SplitGroupMember,
    SplitInvitation,
    SplitSettlement,
    SplitShare,
)
from wallet.transactions.tables import MoneyTransaction
from wallet.transfers.errors import RecipientNotFound, TransferError
from wallet.transfers.models import can_receive
from wallet.transfers.service import (
    find_recipient,
    recipient_lookup,
    transfer_between_users,
)
from wallet.wallets.errors import WalletUnavailable
from wallet.wallets.tables import Wallet

MAX_MEMBERS = 50  # members and open invitations together
MAX_NAME = 80
MAX_DESCRIPTION = 140
# One invite a day per contact with no wallet, however many groups add it.
INVITE_EVERY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Member:
    user_id: int
    username: str


@dataclass(frozen=True, slots=True)
class Invitee:
    """Someone invited who has not answered: "@username" when invited by username,
    else the email or phone typed, partly hidden, whether or not a wallet has it."""

    shown_as: str
    username: str | None  # set only when invited by username


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    name: str
    created_by: int
    members: list[Member]
    invited: list[Invitee] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Invitation:
    """An invitation waiting for the viewer's answer."""

    id: int
    group_id: int
    group_name: str
    invited_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class _Target:
    """Whom an inviter named: a user, or an email or phone (with its user, if any)."""

    user_id: int | None
    contact: str | None  # None: named by username
    kind: str  # "username", "email" or "phone"


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


async def _resolve(conn: Connection, contacts: list[str]) -> list[_Target]:
    """Who each of `contacts` (an @username, email or phone) names. A username must be
    someone's; an email or phone need not (and is not looked up for the answer)."""
    targets: list[_Target] = []
    for contact in contacts:
        try:
            column, value = recipient_lookup(contact)
            user_id: int | None = (await find_recipient(conn, column, value))[0]
        except RecipientNotFound as exc:
            if column == "username":
                raise InvalidGroup("members", str(exc)) from None
            user_id = None
        except TransferError as exc:
            raise InvalidGroup("members", str(exc)) from None
        targets.append(_Target(user_id, None if column == "username" else value, column))
    return targets


def _hidden(contact: str) -> str:
    """Enough of an email or phone for the group to recognise, not to copy."""
    name, at, domain = contact.partition("@")
    return f"{name[:1]}•••@{domain}" if at else f"•••{contact[-4:]}"


def _pending() -> Any:
    return SplitInvitation.status == "pending"


async def _invited(group_ids: list[int]) -> list[dict[str, Any]]:
    """The open invitations of `group_ids`, oldest first, with the invitee's username
    (none for an email or phone nobody has proved yet)."""
    if not group_ids:
        return []
    return await (
        SplitInvitation.select(
            SplitInvitation.group_id,
            SplitInvitation.contact,
            SplitInvitation.user_id.username.as_alias("username"),
        )
        .where(SplitInvitation.group_id.is_in(group_ids) & _pending())
        .order_by(SplitInvitation.id)
    )


def _invitee(row: Any) -> Invitee:
    if row["contact"] is None:
        return Invitee(f"@{row['username']}", row["username"])
    return Invitee(_hidden(row["contact"]), None)


async def _member_rows(group_ids: list[int]) -> list[dict[str, Any]]:
    """The members of `group_ids` (group_id, id, username), by user id."""
    if not group_ids:
        return []
    return await (
        SplitGroupMember.select(
            SplitGroupMember.group_id,
            SplitGroupMember.user_id.as_alias("id"),
            SplitGroupMember.user_id.username.as_alias("username"),
        )
        .where(SplitGroupMember.group_id.is_in(group_ids))
        .order_by(SplitGroupMember.user_id)
    )


def _groups_of_member(user_id: int) -> Any:
    """The ids of the groups `user_id` is a member of, as a subquery."""
    return SplitGroupMember.select(SplitGroupMember.group_id).where(
        SplitGroupMember.user_id == user_id
    )


async def _group(group_id: int, viewer_id: int, *, lock: bool = False) -> Group:
    """The group if the viewer is a member (others get GroupNotFound, never the group;
    someone only invited too). With `lock`, the group row is locked FOR UPDATE: every
    change to a group takes it first."""
    query = SplitGroup.select(SplitGroup.id, SplitGroup.name, SplitGroup.created_by).where(
        (SplitGroup.id == group_id) & SplitGroup.id.is_in(_groups_of_member(viewer_id))
    )
    row = await (query.lock_rows("UPDATE") if lock else query).first()
    if row is None:
        raise GroupNotFound()
    members = [Member(int(r["id"]), r["username"]) for r in await _member_rows([group_id])]
    invited = [_invitee(r) for r in await _invited([group_id])]
    return Group(int(row["id"]), row["name"], int(row["created_by"]), members, invited)


def _clean_name(name: str) -> str:
    text = " ".join(name.split())
    if not 1 <= len(text) <= MAX_NAME:
        raise InvalidGroup("name", f"Give the group a name of 1 to {MAX_NAME} characters")
    return text


async def _add(group_id: int, user_ids: list[int]) -> None:
    await SplitGroupMember.insert(
        *(SplitGroupMember(group_id=group_id, user_id=user_id) for user_id in user_ids)
    ).on_conflict(action="DO NOTHING")
    count = await SplitGroupMember.count().where(SplitGroupMember.group_id == group_id)
    if count > MAX_MEMBERS:
        raise InvalidGroup("members", f"A group has at most {MAX_MEMBERS} members")


async def _invite(conn: Connection, group: Group, inviter_id: int, targets: list[_Target]) -> None:
    """Invite each target to the group, in the caller's transaction: the user is told in
    the app, a contact with no wallet by email or SMS. Members and people already
    invited (a declined invitation included) are not invited again."""
    members = {m.user_id for m in group.members}
    inviter = next(m.username for m in group.members if m.user_id == inviter_id)
    for target in targets:
        if target.user_id == inviter_id or (target.contact is None and target.user_id in members):
            continue
        # Made even when the contact's user is already a member: skipping it would tell
        # the inviter whose contact it is. An invitation the person (by username) or the
        # contact already has in this group is not made again: the insert meets the
        # partial unique index on (group_id, user_id) or (group_id, contact) and does
        # nothing (the two never both apply to one row; no other unique key can clash).
        made = (
            await SplitInvitation.insert(
                SplitInvitation(
                    group_id=group.id,
                    user_id=target.user_id,
                    contact=target.contact,
                    invited_by=inviter_id,
                )
            )
            .on_conflict(action="DO NOTHING")
            .returning(SplitInvitation.id)
        )
        if not made:
            continue
        invitation_id = int(made[0]["id"])
        if target.user_id is None:
            await _invite_contact(conn, invitation_id, target, inviter)
        elif target.user_id not in members:
            await _tell_invitee(conn, invitation_id, target.user_id, inviter, group.name)
    members_now = await SplitGroupMember.count().where(SplitGroupMember.group_id == group.id)
    pending = await SplitInvitation.count().where(
        (SplitInvitation.group_id == group.id) & _pending()
    )
    if members_now + pending > MAX_MEMBERS:
        raise InvalidGroup("members", f"A group has at most {MAX_MEMBERS} members and invitations")


async def _tell_invitee(
    conn: Connection, invitation_id: int, user_id: int, inviter: str, group_name: str
) -> None:
    await emit(
        conn,
        Topic.NOTICE,
        {
            "user_id": user_id,
            "kind": "split_invitation",
            "title": f"@{inviter} invited you to split bills in {group_name}",
            "body": "Open Split to accept or decline. Until you accept, no expense can name you.",
            "dedupe_key": f"split_invitation:{invitation_id}:{user_id}",
        },
    )


async def _invite_contact(
    conn: Connection, invitation_id: int, target: _Target, inviter: str
) -> None:
    # By the database's clock, the one `created_at` was written with.
    since = QueryString("now() - {}::interval", INVITE_EVERY)
    recent = await SplitInvitation.exists().where(
        (SplitInvitation.contact == target.contact)
        & SplitInvitation.user_id.is_null()
        & (SplitInvitation.id != invitation_id)
        & (SplitInvitation.created_at > since)
    )
    if recent:
        return
    await emit(
        conn,
        Topic.CONTACT_INVITED,
        {
            "reason": "split_group",
            "invitation_id": invitation_id,
            "kind": target.kind,
            "contact": target.contact,
            "sender": inviter,
        },
    )


async def create_group(creator_id: int, name: str, contacts: list[str]) -> Group:
    """A new group of the creator, who invites the people behind `contacts`."""
    clean = _clean_name(name)
    async with transaction() as conn:
        targets = await _resolve(conn, contacts)
        [made] = await SplitGroup.insert(SplitGroup(name=clean, created_by=creator_id)).returning(
            SplitGroup.id
        )
        group_id = int(made["id"])
        await _add(group_id, [creator_id])
        await _invite(conn, await _group(group_id, creator_id), creator_id, targets)
        return await _group(group_id, creator_id)


async def add_members(user_id: int, group_id: int, contacts: list[str]) -> Group:
    """Invite people to a group the user is in (they become members once they accept)."""
    async with transaction() as conn:
        group = await _group(group_id, user_id, lock=True)
        await _invite(conn, group, user_id, await _resolve(conn, contacts))
        return await _group(group_id, user_id)


async def invitations_of(user_id: int) -> list[Invitation]:
    """Invitations waiting for the user's answer, newest first."""
    rows = await (
        SplitInvitation.select(
            SplitInvitation.id,
            SplitInvitation.group_id,
            SplitInvitation.group_id.name.as_alias("name"),
            SplitInvitation.invited_by.username.as_alias("username"),
            SplitInvitation.created_at,
        )
        .where((SplitInvitation.user_id == user_id) & _pending())
        .order_by(SplitInvitation.id, ascending=False)
    )
    return [
        Invitation(int(r["id"]), int(r["group_id"]), r["name"], r["username"], r["created_at"])
        for r in rows
    ]


async def answer_invitation(user_id: int, invitation_id: int, accept: bool) -> Group | None:
    """Accept (join: the group, now visible) or decline (None) an invitation of the
    user's. Every open invitation of theirs to that group is answered alike."""
    async with transaction():
        found = (
            await SplitInvitation.select(SplitInvitation.group_id)
            .where(
                (SplitInvitation.id == invitation_id)
                & (SplitInvitation.user_id == user_id)
                & _pending()
            )
            .first()
        )
        if found is None:
            raise InvitationNotFound()
        group_id = int(found["group_id"])
        # The group row first, as every other change to the group takes it.
        await SplitGroup.select(SplitGroup.id).where(SplitGroup.id == group_id).lock_rows("UPDATE")
        answered = (
            await SplitInvitation.update(
                {
                    SplitInvitation.status: "accepted" if accept else "declined",
                    SplitInvitation.answered_at: database_now(),
                }
            )
            .where(
                (SplitInvitation.group_id == group_id)
                & (SplitInvitation.user_id == user_id)
                & _pending()
            )
            .returning(SplitInvitation.id)
        )
        if not answered:  # answered meanwhile (another device)
            raise InvitationNotFound()
        if not accept:
            return None
        await _add(group_id, [user_id])
        return await _group(group_id, user_id)


async def attach_waiting_invitations(conn: Connection, user_id: int, contact: str) -> list[int]:
    """The user just proved `contact` is theirs: invitations waiting for it are now
    theirs to answer (and they are told), in the caller's transaction."""
    claimed = (
        await SplitInvitation.update({SplitInvitation.user_id: user_id})
        .where(
            (SplitInvitation.contact == contact) & SplitInvitation.user_id.is_null() & _pending()
        )
        .returning(SplitInvitation.id)
    )
    if not claimed:
        return []
    rows = await (
        SplitInvitation.select(
            SplitInvitation.id,
            SplitInvitation.group_id.name.as_alias("name"),
            SplitInvitation.invited_by.username.as_alias("username"),
        )
        .where(SplitInvitation.id.is_in([int(r["id"]) for r in claimed]))
        .order_by(SplitInvitation.id)
    )
    for r in rows:
        await _tell_invitee(conn, int(r["id"]), user_id, r["username"], r["name"])
    return [int(r["id"]) for r in rows]


async def groups_of(user_id: int) -> list[Group]:
    """The user's groups, newest first, with their members and open invitations: two
    reads however many."""
    # The groups come with their members: every group has one, the user.
    rows = await (
        SplitGroupMember.select(
            SplitGroupMember.group_id,
            SplitGroupMember.group_id.name.as_alias("name"),
            SplitGroupMember.group_id.created_by.as_alias("created_by"),
            SplitGroupMember.user_id.as_alias("id"),
            SplitGroupMember.user_id.username.as_alias("username"),
        )
        .where(SplitGroupMember.group_id.is_in(_groups_of_member(user_id)))
        .order_by(SplitGroupMember.group_id, ascending=False)
        .order_by(SplitGroupMember.user_id)
    )
    groups: dict[int, tuple[str, int]] = {}  # newest first: id -> (name, created_by)
    members: dict[int, list[Member]] = defaultdict(list)
    invited: dict[int, list[Invitee]] = defaultdict(list)
    for r in rows:
        groups.setdefault(int(r["group_id"]), (r["name"], int(r["created_by"])))
        members[int(r["group_id"])].append(Member(int(r["id"]), r["username"]))
    for r in await _invited(list(groups)):
        invited[int(r["group_id"])].append(_invitee(r))
    return [
        Group(group_id, name, created_by, members[group_id], invited[group_id])
        for group_id, (name, created_by) in groups.items()
    ]


def _member(group: Group, username: str, field: str) -> Member:
    """The member `username` names; someone only invited cannot be named (review
    finding 17: no one is charged without having joined)."""
    name = username.strip().removeprefix("@").lower()
    found = next((m for m in group.members if m.username.lower() == name), None)
    if found is not None:
        return found
    if any(i.username is not None and i.username.lower() == name for i in group.invited):
        raise InvitationPending(username, field)
    raise NotAMember(username, field)


def _shares(group: Group, new: NewExpense) -> dict[int, int]:
    def member(username: str, field: str) -> Member:
        return _member(group, username, field)

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
    [made] = await SplitExpense.insert(
        SplitExpense(
            group_id=group.id,
            paid_by=paid_by.user_id,
            description=description,
            currency=new.amount.currency.value,
            amount=new.amount.amount_minor,
            method=new.method.value,
            created_by=author_id,
            transaction_id=transaction_id,
        )
    ).returning(SplitExpense.id)
    expense_id = int(made["id"])
    # The shares must add up to the amount by commit (a deferred constraint trigger).
    await SplitShare.insert(
        *(
            SplitShare(expense_id=expense_id, user_id=user_id, amount=amount)
            for user_id, amount in shares.items()
        )
    )
    return expense_id


async def add_expense(user_id: int, new: NewExpense) -> Expense:
    """Record an expense one member paid, split among members by `new.method`."""
    async with transaction():
        group = await _group(new.group_id, user_id)
        paid_by = next(m for m in group.members if m.user_id == user_id)
        if new.paid_by:
            paid_by = _member(group, new.paid_by, "paidBy")
        expense_id = await _record_expense(group, user_id, new, paid_by)
        return (await _expenses(group, [expense_id]))[0]


async def split_payment(user_id: int, transaction_id: int, new: NewExpense) -> Expense:
    """Split one of the user's completed merchant payments with a group, after the fact."""
    async with transaction():
        group = await _group(new.group_id, user_id)
        row = (
            await MoneyTransaction.select(
                MoneyTransaction.type,
                MoneyTransaction.status,
                MoneyTransaction.currency,
                MoneyTransaction.amount,
                MoneyTransaction.merchant_id.name.as_alias("name"),
            )
            .where(
                (MoneyTransaction.id == transaction_id)
                & (MoneyTransaction.initiator_user_id == user_id)
            )
            .first()
        )
        if row is None or row["type"] != "payment":
            raise NotSplittable("it is not one of your merchant payments")
        if row["status"] != "completed":
            raise NotSplittable(f"it is {row['status']}")
        if await SplitExpense.exists().where(SplitExpense.transaction_id == transaction_id):
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
        expense_id = await _record_expense(group, user_id, expense, me, transaction_id)
        return (await _expenses(group, [expense_id]))[0]


async def _expenses(group: Group, ids: list[int] | None = None) -> list[Expense]:
    """The group's latest 100 expenses (or those of `ids`), newest first, with shares."""
    by_id = {m.user_id: m for m in group.members}
    where: Any = SplitExpense.group_id == group.id
    if ids is not None:
        if not ids:
            return []
        where &= SplitExpense.id.is_in(ids)
    rows = await (
        SplitExpense.select(
            SplitExpense.id,
            SplitExpense.description,
            SplitExpense.currency,
            SplitExpense.amount,
            SplitExpense.paid_by,
            SplitExpense.method,
            SplitExpense.transaction_id,
            SplitExpense.created_at,
        )
        .where(where)
        .order_by(SplitExpense.id, ascending=False)
        .limit(100)
    )
    share_rows = []
    if rows:
        share_rows = await (
            SplitShare.select(SplitShare.expense_id, SplitShare.user_id, SplitShare.amount)
            .where(SplitShare.expense_id.is_in([int(r["id"]) for r in rows]))
            .order_by(SplitShare.user_id)
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
    """Each member's net position per currency (`queries.GROUP_NETS`)."""
    rows = await conn.fetch(queries.GROUP_NETS, group_id)
    nets: dict[Currency, dict[int, int]] = defaultdict(dict)
    for r in rows:
        nets[Currency(r["currency"])][int(r["user_id"])] = int(r["net"])
    return nets


async def group_view(user_id: int, group_id: int) -> GroupView:
    group = await _group(group_id, user_id)
    async with connection() as conn:
        nets = await _nets(conn, group_id)
    expenses = await _expenses(group)
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


@dataclass(frozen=True, slots=True)
class SettleUp:
    group_id: int
    currency: Currency
    # How long the requests it makes last (`MoneyRules.money_request_days`).
    request_days: int = field(default_factory=lambda: rules.current().money_request_days)


async def _open_asks(actor_id: int, command: SettleUp) -> list[int]:
    """Open requests of this group's settlements that ask the user, or that they made."""
    rows = await SplitSettlement.select(SplitSettlement.money_request_id).where(
        (SplitSettlement.group_id == command.group_id)
        & (SplitSettlement.currency == command.currency.value)
        & (SplitSettlement.money_request_id.status == "open")
        & ((SplitSettlement.from_user == actor_id) | (SplitSettlement.to_user == actor_id))
    )
    return [int(r["money_request_id"]) for r in rows]


async def _plan(conn: Connection, user_id: int, command: SettleUp) -> list[Payment]:
    plan = [
        p
        for p in simplify_debts((await _nets(conn, command.group_id)).get(command.currency, {}))
        if user_id in (p.payer, p.payee)
    ]
    if not plan:
        raise NothingToSettle(command.currency.value)
    return plan


async def _may_settle(conn: Connection, actor: Actor, command: SettleUp) -> None:
    """A member with something to settle; above the step-up threshold (the sum they
    pay) a factor proven lately. The group and its open asks are locked first, so the
    plan the change makes is the one judged here."""
    user_id = actor.require_user()
    await _group(command.group_id, user_id, lock=True)
    asks = await _open_asks(user_id, command)
    if asks:
        await (
            MoneyRequest.select(MoneyRequest.id)
            .where(MoneyRequest.id.is_in(asks))
            .order_by(MoneyRequest.id)
            .lock_rows("UPDATE")
        )
    paying = Money(
        sum(p.amount for p in await _plan(conn, user_id, command) if p.payer == user_id),
        command.currency,
    )
    if paying.is_positive:
        await actor.require_step_up(paying, "settle this much")


async def _settle(conn: Connection, actor: Actor, command: SettleUp) -> SettleUpReceipt:
    user_id, currency, group_id = actor.require_user(), command.currency, command.group_id
    group = await _group(group_id, user_id, lock=True)
    by_id = {m.user_id: m for m in group.members}
    # Asking twice for one debt would let it be paid twice: the user's own direct
    # payments supersede requests that asked them for the same money.
    await cancel_open_requests(conn, await _open_asks(user_id, command))
    plan = await _plan(conn, user_id, command)
    transfers: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    note = f"Settle up: {group.name}"
    for p in plan:
        amount = Money(p.amount, currency)
        if p.payer == user_id:
            wallet = await Wallet.select(Wallet.status).where(Wallet.user_id == p.payee).first()
            status: Any = None if wallet is None else wallet["status"]
            if not can_receive(status):
                raise WalletUnavailable(f"@{by_id[p.payee].username}'s", status)
            transaction_id, _ = await transfer_between_users(
                conn,
                sender_id=user_id,
                recipient_id=p.payee,
                amount=amount,
                note=note,
                screening=actor.screening(),
            )
            await _record_settlement(group_id, p.payer, p.payee, amount, transaction_id)
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
                expires_in=timedelta(days=command.request_days),
            )
            await _record_settlement(group_id, p.payer, p.payee, amount, request_id=request.id)
            requests.append(
                {
                    "from": by_id[p.payer].username,
                    "amount_minor": p.amount,
                    "request_id": request.id,
                }
            )
    return SettleUpReceipt(transfers, requests, currency.value)


async def _replay_settlement(
    conn: Connection, actor: Actor, command: SettleUp, stored: dict[str, Any]
) -> SettleUpReceipt:
    return SettleUpReceipt.from_json(stored)


SETTLE_UP = Command[SettleUp, SettleUpReceipt](
    name="settleUp",
    fingerprint=lambda command: {"group": command.group_id, "currency": command.currency.value},
    policy=(_may_settle,),
    change=_settle,
    response=SettleUpReceipt.to_json,
    replay=_replay_settlement,
    around=recording_blocks,
    refusals=(
        GroupNotFound,
        NotAMember,
        NothingToSettle,
        StepUpRequired,
        WalletUnavailable,
        InsufficientFunds,
        AccountNotActive,
        LimitExceeded,
        PaymentBlocked,
        RatesUnavailable,
    ),
)


async def settle_up(actor: Actor, command: SettleUp, idempotency_key: str) -> SettleUpReceipt:
    """Pay what the user owes in `currency` and ask for what they are owed, by the fewest
    payments that square the group. Transfers happen now, all or none; above the step-up
    threshold (their sum) they need a second factor proven lately, checked before
    anything moves; the fraud rules score each transfer first."""
    return await run(SETTLE_UP, actor, command, idempotency_key)


async def _record_settlement(
    group_id: int,
    payer: int,
    payee: int,
    amount: Money,
    transaction_id: int | None = None,
    request_id: int | None = None,
) -> None:
    await SplitSettlement.insert(
        SplitSettlement(
            group_id=group_id,
            from_user=payer,
            to_user=payee,
            currency=amount.currency.value,
            amount=amount.amount_minor,
            transaction_id=transaction_id,
            money_request_id=request_id,
        )
    )
