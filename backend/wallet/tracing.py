"""OpenTelemetry tracing, off unless WALLET_TRACING: the process's tracer provider, the
asyncpg and Redis instrumentation, a server span around each HTTP request and a span
around each worker job (docs/operations.md, "Tracing").

While tracing is off nothing here is installed (no provider, no patched client, no
middleware; the instrumentation is not even imported), so the hot path pays nothing.
Log lines carry the current trace id: wallet.log reads the span from the context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from wallet.config import TracingSettings

API = "wallet-api"
WORKER = "wallet-worker"
# Load balancers' and Prometheus's polls: a span each would be noise (matched against
# the request's URL, without its query).
UNTRACED_PATHS = r"/(health|ready|metrics)$"

# The process's provider while tracing is on; None while it is off.
_provider: TracerProvider | None = None


def enable(settings: TracingSettings, service: str) -> bool:
    """Turn tracing on for this process if the settings say so, once (another app built
    in the same process keeps the first set-up). Whether tracing is on."""
    if settings.enabled and _provider is None:
        start(settings.service_name or service, _exporter(settings))
    return _provider is not None


def start(
    service: str, exporter: SpanExporter, *, batch: bool = True, set_global: bool = True
) -> TracerProvider:
    """Trace this process into `exporter`: a provider named `service`, with asyncpg and
    Redis instrumented. Tests pass their own exporter, `batch=False` (each span exported
    as it ends) and `set_global=False` (OpenTelemetry's global provider can be set only
    once per process; nothing here needs it), and call `stop` afterwards."""
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    global _provider
    if _provider is not None:
        raise RuntimeError("tracing is already on in this process")
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service}),
        sampler=ParentBased(root=RootsAtRequestsAndJobs()),
    )
    provider.add_span_processor(
        BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    )
    # Statements are recorded as written ($1, $2), never their values, and Redis commands
    # as "GET ?" (the instrumentation's own redaction): no session token, no personal data.
    # (The asyncpg instrumentor's constructor has no annotations.)
    asyncpg = AsyncPGInstrumentor(capture_parameters=False)  # type: ignore[no-untyped-call]
    asyncpg.instrument(tracer_provider=provider)
    RedisInstrumentor().instrument(tracer_provider=provider)
    if set_global:
        trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def stop() -> None:
    """Undo `start`: the clients unpatched, the spans still queued exported."""
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    global _provider
    if _provider is None:
        return
    AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
    RedisInstrumentor().uninstrument()
    _provider.shutdown()
    _provider = None


def asgi_middleware() -> list[Callable[..., Any]]:
    """The server-span middleware, for the head of an ASGI app's middleware list (the
    access line is then written inside the span); none while tracing is off."""
    provider = _provider
    if provider is None:
        return []
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.util.http import ExcludeList

    def traced(app: Any) -> Any:
        spans = OpenTelemetryMiddleware(
            app,
            excluded_urls=ExcludeList([UNTRACED_PATHS]),
            default_span_details=_span_details,
            tracer_provider=provider,
            # No span per ASGI message: the request's span and what it queries.
            exclude_spans=["receive", "send"],
        )

        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            # HTTP only: a subscription's WebSocket lasts for hours, and its trace would
            # hold every push it ever made.
            await (spans if scope["type"] == "http" else app)(scope, receive, send)

        return middleware

    return [traced]


@contextmanager
def job_span(name: str) -> Iterator[None]:
    """A worker job's span, the root of what it queries; nothing while tracing is off."""
    if _provider is None:
        yield
        return
    with _provider.get_tracer(__name__).start_as_current_span(name, kind=SpanKind.CONSUMER):
        yield


class RootsAtRequestsAndJobs(Sampler):
    """Start a trace only at a request (a server span) or a job (a consumer span). A
    statement outside both, such as the outbox relay's polling, arq's own Redis calls or
    the start-up checks, would otherwise be a one-span trace every few milliseconds."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        chosen = ALWAYS_ON if kind in (SpanKind.SERVER, SpanKind.CONSUMER) else ALWAYS_OFF
        return chosen.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return "RootsAtRequestsAndJobs"


def _span_details(scope: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """`POST /graphql`: the method and the route's template (Litestar puts it in the
    scope), not the path, so that an id in a path does not make every name unique."""
    route = scope.get("path_template") or scope.get("path", "")
    return f"{scope.get('method', 'HTTP')} {route}", {"http.route": route}


def _exporter(settings: TracingSettings) -> SpanExporter:
    if settings.exporter == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    # The variable is the collector's base URL; the SDK adds the traces path when it
    # reads it itself. Unset, the SDK chooses (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else
    # http://localhost:4318).
    endpoint = settings.otlp_endpoint
    return OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces" if endpoint else None)
