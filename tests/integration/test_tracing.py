"""Tracing end to end (issue 16): with tracing on, a GraphQL request through the real app
is one trace, its server span the parent of the PostgreSQL statements and Redis commands
it made, and its log lines carry the trace id; a worker job is a trace of its own. Off
(the default), nothing is instrumented and log lines carry no trace id.

The spans go to the SDK's in-memory exporter, through a provider that is not the
process's global one (that can be set only once); each test turns tracing off again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from redis.asyncio import Redis

from tests.conftest import run_live_server
from tests.factories import make_user
from tests.graphql_client import ME, gql, token_for
from wallet import tracing
from wallet.config import Settings
from wallet.db.engine import transaction
from workers import settings as worker

ASYNCPG = "opentelemetry.instrumentation.asyncpg"
REDIS = "opentelemetry.instrumentation.redis"


@pytest.fixture
async def spans() -> AsyncIterator[InMemorySpanExporter]:
    """Tracing on for this test, into memory; off again afterwards (the clients
    unpatched), so that no other test on this worker is traced."""
    exporter = InMemorySpanExporter()
    tracing.start(tracing.API, exporter, batch=False, set_global=False)
    try:
        yield exporter
    finally:
        tracing.stop()


def log_lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def graphql_access_lines(err: str) -> list[dict[str, Any]]:
    return [e for e in log_lines(err) if e["event"] == "request" and e["path"] == "/graphql"]


def hex_ids(span: ReadableSpan) -> tuple[str, str]:
    context = span.get_span_context()
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def descends_from(span: ReadableSpan, root: ReadableSpan, by_id: dict[int, ReadableSpan]) -> bool:
    parent = span.parent
    while parent is not None:
        if parent.span_id == root.get_span_context().span_id:
            return True
        above = by_id.get(parent.span_id)
        parent = above.parent if above is not None else None
    return False


async def test_a_graphql_request_is_one_trace_of_its_statements_and_redis_commands(
    spans: InMemorySpanExporter, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    user = await make_user()
    spans.clear()  # signing up ran outside any request: nothing was traced (the sampler)
    assert spans.get_finished_spans() == ()
    async with run_live_server(settings.replace(tracing={"enabled": True})) as live:
        token = await token_for(live, user)
        spans.clear()
        capsys.readouterr()
        async with live.client() as http:
            assert (await gql(http, ME, token=token))["data"]["me"]["username"] == user.username
    # The server has stopped: the request's span has ended and its lines are written.
    finished = spans.get_finished_spans()
    [server] = [s for s in finished if s.kind is SpanKind.SERVER]
    assert server.name == "POST /graphql"
    assert server.parent is None
    assert server.resource.attributes["service.name"] == "wallet-api"
    trace_id = server.get_span_context().trace_id
    # Everything recorded belongs to the request's trace, below its server span.
    by_id = {s.get_span_context().span_id: s for s in finished}
    assert {s.get_span_context().trace_id for s in finished} == {trace_id}
    children = [s for s in finished if s is not server]
    assert all(descends_from(s, server, by_id) for s in children)
    scopes = {s.instrumentation_scope.name for s in children if s.instrumentation_scope}
    assert {ASYNCPG, REDIS} <= scopes
    statements = [s for s in children if s.instrumentation_scope.name == ASYNCPG]
    assert all(s.kind is SpanKind.CLIENT for s in statements)
    # The access line is written inside the request's span and carries its ids.
    [access] = graphql_access_lines(capsys.readouterr().err)
    assert (access["trace_id"], access["span_id"]) == hex_ids(server)


async def test_a_worker_job_is_a_trace_of_its_own(
    spans: InMemorySpanExporter, database_url: str, redis: Redis
) -> None:
    async def tidy_up(ctx: dict[str, Any], count: int) -> int:
        async with transaction() as conn:
            found: int = await conn.fetchval("SELECT $1::int", count)
        await redis.set("tidied", found)
        return found

    assert await worker.counted(tidy_up)({}, 3) == 3
    finished = spans.get_finished_spans()
    [job] = [s for s in finished if s.kind is SpanKind.CONSUMER]
    assert job.name == "tidy_up"
    assert job.parent is None
    children = [s for s in finished if s is not job]
    assert {s.instrumentation_scope.name for s in children if s.instrumentation_scope} >= {
        ASYNCPG,
        REDIS,
    }
    assert {s.get_span_context().trace_id for s in finished} == {job.get_span_context().trace_id}
    # Statements are recorded as written, never with their values.
    assert not any("db.statement.parameters" in (s.attributes or {}) for s in children)


async def test_with_tracing_off_nothing_is_traced_and_log_lines_carry_no_trace_id(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert settings.tracing.enabled is False  # the default
    user = await make_user()
    async with run_live_server(settings) as live:
        assert tracing.asgi_middleware() == []
        assert not AsyncPGInstrumentor().is_instrumented_by_opentelemetry
        assert not RedisInstrumentor().is_instrumented_by_opentelemetry
        token = await token_for(live, user)
        capsys.readouterr()
        async with live.client() as http:
            assert (await gql(http, ME, token=token))["data"]["me"]["username"] == user.username
    lines = log_lines(capsys.readouterr().err)
    assert graphql_access_lines("\n".join(json.dumps(e) for e in lines))
    assert not any("trace_id" in e or "span_id" in e for e in lines)
