"""Operator-only GraphQL: ledger check, chart of accounts, the audit log.

Every field answers `Forbidden` (or null) to anyone without an operator role.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
import strawberry.scalars

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    Forbidden,
    NotAuthenticated,
    not_authenticated,
)
from wallet.checks import check_all
from wallet.db.engine import connection
from wallet.ledger import invariants
from wallet.ledger import service as ledger
from wallet.ledger.invariants import Breach
from wallet.money import Money
from wallet.security import audit
from wallet.users.service import operator_role


@strawberry.type
class LedgerBreach:
    check: str
    detail: str
    account_ids: list[strawberry.ID]


@strawberry.type
class LedgerCheck:
    ok: bool
    breaches: list[LedgerBreach]


@strawberry.type(description="A scheduled ledger check: what it covered and what it found.")
class LedgerCheckRun:
    id: strawberry.ID
    mode: str = strawberry.field(description="incremental (since the last clean run) or full")
    ok: bool
    breach_count: int
    breaches: list[LedgerBreach] = strawberry.field(description="The first ones it kept.")
    postings_after: strawberry.ID
    postings_through: strawberry.ID
    started_at: datetime
    finished_at: datetime

    @classmethod
    def from_run(cls, run: invariants.CheckRun, count: int) -> LedgerCheckRun:
        return cls(
            id=strawberry.ID(str(run.id)),
            mode=run.window.mode,
            ok=count == 0,
            breach_count=count,
            breaches=[_breach(b) for b in run.breaches],
            postings_after=strawberry.ID(str(run.window.after_posting)),
            postings_through=strawberry.ID(str(run.window.through_posting)),
            started_at=run.started_at,
            finished_at=run.finished_at,
        )


def _breach(b: Breach) -> LedgerBreach:
    return LedgerBreach(
        check=b.check, detail=b.detail, account_ids=[strawberry.ID(str(a)) for a in b.account_ids]
    )


@strawberry.type
class LedgerAccount:
    id: strawberry.ID
    code: str
    purpose: str
    account_type: str
    currency: str
    posted: str
    pending_in: str
    pending_out: str


# Least privilege: each operator surface names the roles that may use it (docs/security.md).
# Support reads the ledger to answer customers; only admins move money by hand.
LEDGER_READERS = ("support", "compliance", "admin")
REVERSERS = ("admin",)
COMPLIANCE_ROLES = ("compliance", "admin")
AUDIT_READERS = COMPLIANCE_ROLES


async def operator_in(info: Info, roles: tuple[str, ...]) -> int | None:
    """The viewer's user id when they hold one of `roles`, else None."""
    user = await info.context.viewer()
    if user is None or await operator_role(user.id) not in roles:
        return None
    return user.id


async def operator_or_refusal(
    info: Info, roles: tuple[str, ...], message: str
) -> int | Forbidden | NotAuthenticated:
    """For operator mutations: the operator's id, or the typed refusal to return."""
    if await info.context.viewer() is None:
        return not_authenticated()
    operator_id = await operator_in(info, roles)
    if operator_id is None:
        return Forbidden(code=ErrorCode.FORBIDDEN, message=message)
    return operator_id


async def _is_operator(info: Info) -> bool:
    return await operator_in(info, LEDGER_READERS) is not None


@strawberry.type
class OperatorQuery:
    @strawberry.field(description="Operators: run the ledger invariants (null otherwise).")
    async def ledger_check(self, info: Info) -> LedgerCheck | None:
        if not await _is_operator(info):
            return None
        async with connection() as conn:
            breaches = await check_all(conn)
        return LedgerCheck(ok=not breaches, breaches=[_breach(b) for b in breaches])

    @strawberry.field(
        description="Operators: the scheduled ledger checks, newest first (null otherwise)."
    )
    async def ledger_check_runs(self, info: Info, first: int = 20) -> list[LedgerCheckRun] | None:
        if not await _is_operator(info):
            return None
        return [
            LedgerCheckRun.from_run(run, count)
            for run, count in await invariants.recent_runs(first)
        ]

    @strawberry.field(description="Operators: the platform's system accounts and balances.")
    async def chart_of_accounts(self, info: Info) -> list[LedgerAccount] | None:
        if not await _is_operator(info):
            return None
        async with connection() as conn:
            chart = await ledger.chart_of_accounts(conn)
        return [
            LedgerAccount(
                id=strawberry.ID(str(a.account_id)),
                code=a.code,
                purpose=a.purpose,
                account_type=a.account_type.value.upper(),
                currency=a.balance.currency.value,
                posted=Money(a.balance.posted, a.balance.currency).format(),
                pending_in=Money(a.balance.incoming, a.balance.currency).format(),
                pending_out=Money(a.balance.reserved, a.balance.currency).format(),
            )
            for a in chart
        ]


@strawberry.type(name="AuditEntry")
class AuditEntryType:
    id: strawberry.ID
    at: datetime
    actor_type: str
    actor_id: strawberry.ID | None
    action: str
    outcome: str
    subject: str | None
    ip: str | None
    details: strawberry.scalars.JSON
    sealed: bool


@strawberry.type(name="AuditChainCheck")
class AuditChainCheckType:
    intact: bool
    checked: int
    broken_at_seq: int | None
    broken_row_id: strawberry.ID | None
    problem: str | None = strawberry.field(description="Why the chain is broken, if it is.")
    anchored_seq: int | None = strawberry.field(
        description="The highest seq a signed anchor outside the database vouches for."
    )


@strawberry.type
class AuditQuery:
    @strawberry.field(description="Compliance and admins: the audit log, newest first.")
    async def audit_log(
        self,
        info: Info,
        first: int = 50,
        before: strawberry.ID | None = None,
        actor_id: strawberry.ID | None = None,
        action: str | None = None,
    ) -> list[AuditEntryType] | None:
        user = await info.context.viewer()
        if user is None or await operator_role(user.id) not in AUDIT_READERS:
            return None
        found = await audit.entries(
            first=first,
            before_id=int(before) if before and str(before).isdigit() else None,
            actor_id=int(actor_id) if actor_id and str(actor_id).isdigit() else None,
            action=action,
        )
        return [
            AuditEntryType(
                id=strawberry.ID(str(e.id)),
                at=e.at,
                actor_type=e.actor_type,
                actor_id=strawberry.ID(str(e.actor_id)) if e.actor_id is not None else None,
                action=e.action,
                outcome=e.outcome,
                subject=e.subject,
                ip=e.ip,
                details=e.details,  # type: ignore[arg-type]
                sealed=e.sealed,
            )
            for e in found
        ]

    @strawberry.field(description="Compliance and admins: seal and verify the audit chain.")
    async def audit_chain(self, info: Info) -> AuditChainCheckType | None:
        user = await info.context.viewer()
        if user is None or await operator_role(user.id) not in AUDIT_READERS:
            return None
        settings = info.context.services.settings
        await audit.seal_all(settings.audit.key_bytes)
        check = await audit.verify(settings.audit.key_bytes, settings.audit_anchor_dir)
        return AuditChainCheckType(
            intact=check.intact,
            checked=check.checked,
            broken_at_seq=check.broken_at_seq,
            broken_row_id=(
                strawberry.ID(str(check.broken_row_id)) if check.broken_row_id else None
            ),
            problem=check.problem,
            anchored_seq=check.anchored_seq,
        )
