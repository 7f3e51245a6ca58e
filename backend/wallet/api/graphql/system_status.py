"""GraphQL surface of the operators' system page: the outbox's backlog and lag, the
worker's queue, each worker job's last run and the last ledger check
(`wallet.observability`, `wallet.ledger.invariants`). Anyone without a ledger-reading
operator role gets null (the resolver never runs)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from wallet import observability
from wallet.api.graphql.books import OperatorsOnly
from wallet.api.graphql.context import Info
from wallet.api.graphql.operators import LEDGER_READERS, LedgerCheckRun
from wallet.ledger import invariants


@strawberry.enum
class JobOutcome(Enum):
    OK = "ok"
    FAILED = "failed"


@strawberry.type(description="How a worker job's last run ended.")
class WorkerJobRun:
    task: str
    finished_at: datetime
    outcome: JobOutcome
    seconds: float = strawberry.field(description="How long it ran.")


@strawberry.type(description="The system page: is the machinery keeping up?")
class SystemStatus:
    outbox_backlog: int = strawberry.field(description="Events not yet published.")
    outbox_lag_seconds: float = strawberry.field(
        description="Age of the oldest unpublished event (0 when none waits)."
    )
    queue_depth: int = strawberry.field(description="Jobs waiting in the worker's queue.")
    jobs: list[WorkerJobRun] = strawberry.field(
        description="Each worker job's last run, by task name (jobs that never ran since "
        "Redis was emptied are absent)."
    )
    last_ledger_check: LedgerCheckRun | None = strawberry.field(
        description="The newest scheduled ledger check, if one has run."
    )


@strawberry.type
class SystemQuery:
    @strawberry.field(
        description="Operators: outbox, queue, last job runs and ledger check (null otherwise).",
        extensions=[OperatorsOnly(LEDGER_READERS)],
    )
    async def system_status(self, info: Info) -> SystemStatus | None:
        redis = info.context.services.redis
        figures = await observability.backlog(redis)
        runs = await observability.last_job_runs(redis)
        checks = await invariants.recent_runs(1)
        return SystemStatus(
            outbox_backlog=figures.outbox_backlog,
            outbox_lag_seconds=figures.outbox_lag_seconds,
            queue_depth=figures.queue_depth,
            jobs=[
                WorkerJobRun(
                    task=r.task,
                    finished_at=r.finished_at,
                    outcome=JobOutcome.OK if r.ok else JobOutcome.FAILED,
                    seconds=r.seconds,
                )
                for r in runs
            ],
            last_ledger_check=(LedgerCheckRun.from_run(*checks[0]) if checks else None),
        )
