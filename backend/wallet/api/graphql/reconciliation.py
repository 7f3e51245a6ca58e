"""Operator GraphQL for reconciliation and four-eyes ledger adjustments.

Ledger readers (support, compliance, admins) read runs, items, breaks, safeguarding and
proposals; only admins propose, approve or reject, and never their own proposal.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import strawberry

from wallet.adjustments import service as adjustments
from wallet.adjustments.service import Adjustment
from wallet.api.graphql.context import Info
from wallet.api.graphql.operators import LEDGER_READERS, REVERSERS, operator_in, operator_or_refusal
from wallet.api.graphql.permissions import SignedIn
from wallet.api.graphql.refusals import REFUSALS, MoneyErrors, parse_amount, refusal
from wallet.money import Currency, Money
from wallet.reconciliation import service as recon


def _id(value: object) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


def _signed(amount: int | None, currency: str) -> str | None:
    return None if amount is None else Money(amount, Currency(currency)).format()


@strawberry.type(description="One settlement file, imported once, and how it matched.")
class ReconciliationRun:
    id: strawberry.ID
    source: str = strawberry.field(description="processor (CSV) or bank (camt.053)")
    format: str
    business_date: date
    file_name: str
    items: int
    matched: int
    open_breaks: int
    imported_at: datetime


@strawberry.type(description="A line of a settlement file.")
class ReconciliationItem:
    id: strawberry.ID
    line: int
    kind: str
    reference: str
    booked_on: date
    amount: str = strawberry.field(description="Signed from the platform's side: in > 0.")
    currency: str
    counterparty: str
    status: str = strawberry.field(description="matched or break")
    transaction_id: strawberry.ID | None
    matched_by: str | None


@strawberry.type(description="What did not match, open until resolved.")
class ReconciliationBreak:
    id: strawberry.ID
    kind: str = strawberry.field(description="missing, duplicate, amount_mismatch or unknown")
    source: str
    business_date: date
    reference: str | None
    transaction_id: strawberry.ID | None
    currency: str
    ledger_amount: str | None
    file_amount: str | None
    detail: str
    opened_at: datetime
    status: str
    resolution: str | None
    resolved_at: datetime | None
    note: str | None
    adjustment_id: strawberry.ID | None

    @classmethod
    def from_row(cls, b: dict[str, Any]) -> ReconciliationBreak:
        return cls(
            id=strawberry.ID(str(b["id"])),
            kind=b["kind"],
            source=b["source"],
            business_date=b["business_date"],
            reference=b["reference"],
            transaction_id=_id(b["transaction_id"]),
            currency=b["currency"],
            ledger_amount=_signed(b["ledger_amount"], b["currency"]),
            file_amount=_signed(b["file_amount"], b["currency"]),
            detail=b["detail"],
            opened_at=b["opened_at"],
            status=b["status"],
            resolution=b["resolution"],
            resolved_at=b["resolved_at"],
            note=b["note"],
            adjustment_id=_id(b["adjustment_id"]),
        )


@strawberry.type(description="Customer money held against the safeguarding account.")
class SafeguardingCheck:
    business_date: date
    currency: str
    customer_money: str
    bank_balance: str
    difference: str = strawberry.field(
        description="Bank minus customer money: below zero is a shortfall the firm must fund."
    )
    checked_at: datetime


@strawberry.type(name="LedgerAdjustment", description="A four-eyes change to the ledger.")
class AdjustmentNode:
    id: strawberry.ID
    kind: str = strawberry.field(description="entry (adjusting entry) or reversal")
    reason: str
    status: str = strawberry.field(description="proposed, approved or rejected")
    proposed_by: strawberry.ID
    proposed_at: datetime
    amount: str | None
    currency: str | None
    debit_account_id: strawberry.ID | None
    credit_account_id: strawberry.ID | None
    transaction_id: strawberry.ID | None
    break_id: strawberry.ID | None
    decided_by: strawberry.ID | None
    decided_at: datetime | None
    decision_note: str | None
    entry_id: strawberry.ID | None
    result_transaction_id: strawberry.ID | None

    @classmethod
    def from_domain(cls, a: Adjustment) -> AdjustmentNode:
        return cls(
            id=strawberry.ID(str(a.id)),
            kind=a.kind.value,
            reason=a.reason,
            status=a.status.value,
            proposed_by=strawberry.ID(str(a.proposed_by)),
            proposed_at=a.proposed_at,
            amount=a.amount.format() if a.amount else None,
            currency=a.amount.currency.value if a.amount else None,
            debit_account_id=_id(a.debit_account_id),
            credit_account_id=_id(a.credit_account_id),
            transaction_id=_id(a.transaction_id),
            break_id=_id(a.recon_break_id),
            decided_by=_id(a.decided_by),
            decided_at=a.decided_at,
            decision_note=a.decision_note,
            entry_id=_id(a.entry_id),
            result_transaction_id=_id(a.result_transaction_id),
        )


@strawberry.type
class AdjustmentPayload:
    adjustment: AdjustmentNode


@strawberry.type
class BreakResolvedPayload:
    break_: ReconciliationBreak = strawberry.field(name="break")


@strawberry.type
class ReconciledDayPayload:
    runs: list[ReconciliationRun]


AdjustmentResult = Annotated[AdjustmentPayload | MoneyErrors, strawberry.union("AdjustmentResult")]
BreakResult = Annotated[BreakResolvedPayload | MoneyErrors, strawberry.union("BreakResult")]
ReconcileDayResult = Annotated[
    ReconciledDayPayload | MoneyErrors, strawberry.union("ReconcileDayResult")
]


def _run(r: recon.FileRun) -> ReconciliationRun:
    return ReconciliationRun(
        id=strawberry.ID(str(r.id)),
        source=r.source,
        format=r.format,
        business_date=r.business_date,
        file_name=r.file_name,
        items=r.items,
        matched=r.matched,
        open_breaks=r.open_breaks,
        imported_at=r.imported_at,
    )


async def _break(break_id: int) -> ReconciliationBreak:
    row = await recon.break_of(break_id)
    assert row is not None  # it was just resolved
    return ReconciliationBreak.from_row(row)


def _number(raw: strawberry.ID) -> int:
    return int(raw) if str(raw).isdigit() else 0


@strawberry.type
class ReconciliationQuery:
    @strawberry.field(description="Operators: imported settlement files, newest first.")
    async def reconciliation_runs(
        self, info: Info, first: int = 30
    ) -> list[ReconciliationRun] | None:
        if await operator_in(info, LEDGER_READERS) is None:
            return None
        return [_run(r) for r in await recon.runs(first)]

    @strawberry.field(description="Operators: the lines of one imported file.")
    async def reconciliation_items(
        self, info: Info, run_id: strawberry.ID
    ) -> list[ReconciliationItem] | None:
        if await operator_in(info, LEDGER_READERS) is None:
            return None
        return [
            ReconciliationItem(
                id=strawberry.ID(str(i["id"])),
                line=i["line"],
                kind=i["kind"],
                reference=i["reference"],
                booked_on=i["booked_on"],
                amount=Money(
                    i["amount"] if i["direction"] == "C" else -i["amount"], Currency(i["currency"])
                ).format(),
                currency=i["currency"],
                counterparty=i["counterparty"],
                status=i["status"],
                transaction_id=_id(i["transaction_id"]),
                matched_by=i["matched_by"],
            )
            for i in await recon.file_items(_number(run_id))
        ]

    @strawberry.field(description="Operators: reconciliation breaks, newest first.")
    async def reconciliation_breaks(
        self, info: Info, open_only: bool = True, first: int = 100
    ) -> list[ReconciliationBreak] | None:
        if await operator_in(info, LEDGER_READERS) is None:
            return None
        rows = await recon.breaks(open_only=open_only, first=first)
        return [ReconciliationBreak.from_row(b) for b in rows]

    @strawberry.field(description="Operators: the daily safeguarding checks, newest first.")
    async def safeguarding_checks(
        self, info: Info, first: int = 30
    ) -> list[SafeguardingCheck] | None:
        if await operator_in(info, LEDGER_READERS) is None:
            return None
        return [
            SafeguardingCheck(
                business_date=c["business_date"],
                currency=c["currency"],
                customer_money=Money(c["customer_money"], Currency(c["currency"])).format(),
                bank_balance=Money(c["bank_balance"], Currency(c["currency"])).format(),
                difference=Money(c["difference"], Currency(c["currency"])).format(),
                checked_at=c["checked_at"],
            )
            for c in await recon.safeguarding(first)
        ]

    @strawberry.field(description="Operators: four-eyes adjustments and reversals.")
    async def ledger_adjustments(
        self, info: Info, open_only: bool = True, first: int = 50
    ) -> list[AdjustmentNode] | None:
        if await operator_in(info, LEDGER_READERS) is None:
            return None
        rows = await adjustments.listed(open_only=open_only, first=first)
        return [AdjustmentNode.from_domain(a) for a in rows]


_ADMINS = "Only admins change the ledger by hand"


@strawberry.type
class ReconciliationMutation:
    @strawberry.mutation(
        description="Admins: fetch and reconcile a day's settlement files (the daily job).",
        extensions=[SignedIn()],
    )
    async def reconcile_day(self, info: Info, day: date) -> ReconcileDayResult:
        operator = await operator_or_refusal(info, REVERSERS, _ADMINS)
        if not isinstance(operator, int):
            return operator
        try:
            await recon.reconcile_day(info.context.services.gateway, day)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return ReconciledDayPayload(
            runs=[_run(r) for r in await recon.runs(50) if r.business_date == day]
        )

    @strawberry.mutation(
        description="Admins: close a break as matched by hand, saying how it was checked.",
        extensions=[SignedIn()],
    )
    async def match_break_by_hand(
        self, info: Info, break_id: strawberry.ID, note: str
    ) -> BreakResult:
        operator = await operator_or_refusal(info, REVERSERS, _ADMINS)
        if not isinstance(operator, int):
            return operator
        try:
            await recon.match_by_hand(operator, _number(break_id), note)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return BreakResolvedPayload(break_=await _break(_number(break_id)))

    @strawberry.mutation(
        description="Admins: propose the adjusting entry that closes a break (clearing "
        "against the counter account); a second admin approves it.",
        extensions=[SignedIn()],
    )
    async def propose_break_adjustment(
        self, info: Info, break_id: strawberry.ID, counter_account_id: strawberry.ID, reason: str
    ) -> AdjustmentResult:
        operator = await operator_or_refusal(info, REVERSERS, _ADMINS)
        if not isinstance(operator, int):
            return operator
        try:
            proposal = await recon.propose_adjustment(
                operator, _number(break_id), _number(counter_account_id), reason
            )
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return AdjustmentPayload(adjustment=AdjustmentNode.from_domain(proposal))

    @strawberry.mutation(
        description="Admins: propose an adjusting entry; a second admin approves it.",
        extensions=[SignedIn()],
    )
    async def propose_adjustment(
        self,
        info: Info,
        debit_account_id: strawberry.ID,
        credit_account_id: strawberry.ID,
        amount: str,
        currency: str,
        reason: str,
    ) -> AdjustmentResult:
        operator = await operator_or_refusal(info, REVERSERS, _ADMINS)
        if not isinstance(operator, int):
            return operator
        money = parse_amount(amount, currency)
        if not isinstance(money, Money):
            return money
        try:
            proposal = await adjustments.propose(
                operator,
                debit_account_id=_number(debit_account_id),
                credit_account_id=_number(credit_account_id),
                amount=money,
                reason=reason,
            )
        except REFUSALS as exc:
            return refusal(exc, money.currency)
        return AdjustmentPayload(adjustment=AdjustmentNode.from_domain(proposal))

    @strawberry.mutation(
        description="Admins: propose reversing a completed transfer with a new entry; a "
        "second admin approves it (then it is reversed at once).",
        extensions=[SignedIn()],
    )
    async def reverse_transaction(
        self, info: Info, transaction_id: strawberry.ID, reason: str
    ) -> AdjustmentResult:
        operator = await operator_or_refusal(info, REVERSERS, _ADMINS)
        if not isinstance(operator, int):
            return operator
        try:
            proposal = await adjustments.propose_reversal(operator, _number(transaction_id), reason)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return AdjustmentPayload(adjustment=AdjustmentNode.from_domain(proposal))

    @strawberry.mutation(
        description="Admins: approve another admin's proposal; it is posted at once.",
        extensions=[SignedIn()],
    )
    async def approve_adjustment(
        self, info: Info, adjustment_id: strawberry.ID, note: str = ""
    ) -> AdjustmentResult:
        operator = await operator_or_refusal(info, REVERSERS, _ADMINS)
        if not isinstance(operator, int):
            return operator
        try:
            done = await recon.approve_adjustment(operator, _number(adjustment_id), note)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return AdjustmentPayload(adjustment=AdjustmentNode.from_domain(done))

    @strawberry.mutation(
        description="Admins: reject another admin's proposal, saying why.",
        extensions=[SignedIn()],
    )
    async def reject_adjustment(
        self, info: Info, adjustment_id: strawberry.ID, note: str
    ) -> AdjustmentResult:
        operator = await operator_or_refusal(info, REVERSERS, _ADMINS)
        if not isinstance(operator, int):
            return operator
        try:
            done = await recon.reject_adjustment(operator, _number(adjustment_id), note)
        except REFUSALS as exc:
            return refusal(exc, Currency.USD)
        return AdjustmentPayload(adjustment=AdjustmentNode.from_domain(done))
