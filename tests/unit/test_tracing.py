"""Tracing (issue 16): its settings, the sampler that starts traces only at requests and
jobs, and the trace ids on log lines (wallet.tracing, wallet.log). Requests and jobs
traced end to end: tests/integration/test_tracing.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased
from opentelemetry.trace import SpanKind

from wallet import tracing
from wallet.config import InvalidSettings, Settings, TracingSettings
from wallet.log import add_trace_ids, configure_logging

VARIABLES = (
    "WALLET_TRACING",
    "WALLET_TRACING_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


def test_tracing_is_off_by_default(env: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().tracing == TracingSettings(
        enabled=False, exporter="otlp", otlp_endpoint=None, service_name=None
    )


def test_tracing_settings_read_the_wallet_and_the_standard_variables(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("WALLET_TRACING", "true")
    env.setenv("WALLET_TRACING_EXPORTER", " Console ")
    env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    env.setenv("OTEL_SERVICE_NAME", "wallet-eu")
    assert Settings.from_env().tracing == TracingSettings(
        enabled=True,
        exporter="console",
        otlp_endpoint="http://collector:4318",
        service_name="wallet-eu",
    )


def test_an_unknown_exporter_stops_the_start_naming_its_variable(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("WALLET_TRACING_EXPORTER", "zipkin")
    with pytest.raises(InvalidSettings, match=r"WALLET_TRACING_EXPORTER.*'zipkin'"):
        Settings.from_env()


def test_the_otlp_exporter_posts_to_the_traces_path_of_the_collector() -> None:
    chosen = tracing._exporter(TracingSettings(otlp_endpoint="http://collector:4318/"))
    assert isinstance(chosen, OTLPSpanExporter)
    assert chosen._endpoint == "http://collector:4318/v1/traces"
    assert isinstance(tracing._exporter(TracingSettings(exporter="console")), ConsoleSpanExporter)


def test_off_installs_nothing() -> None:
    assert tracing.enable(TracingSettings(), tracing.API) is False
    assert tracing.asgi_middleware() == []
    assert not AsyncPGInstrumentor().is_instrumented_by_opentelemetry
    assert not RedisInstrumentor().is_instrumented_by_opentelemetry
    with tracing.job_span("a_job"):
        assert not trace.get_current_span().get_span_context().is_valid


def test_on_names_the_service_and_instruments_the_clients_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # OpenTelemetry's global provider can be set once per process: kept out of it here.
    installed: list[object] = []
    monkeypatch.setattr(trace, "set_tracer_provider", installed.append)
    on = TracingSettings(enabled=True, exporter="console", service_name="wallet-eu")
    try:
        assert tracing.enable(on, tracing.API) is True
        assert tracing.enable(on, tracing.WORKER) is True  # the first set-up stays
        [provider] = installed
        assert isinstance(provider, TracerProvider)
        assert provider.resource.attributes["service.name"] == "wallet-eu"
        assert AsyncPGInstrumentor().is_instrumented_by_opentelemetry
        assert RedisInstrumentor().is_instrumented_by_opentelemetry
        assert len(tracing.asgi_middleware()) == 1
    finally:
        tracing.stop()
    assert not AsyncPGInstrumentor().is_instrumented_by_opentelemetry
    assert not RedisInstrumentor().is_instrumented_by_opentelemetry
    assert tracing.asgi_middleware() == []


def test_without_the_variable_the_service_is_named_for_its_process() -> None:
    provider = tracing.start(tracing.WORKER, InMemorySpanExporter(), set_global=False)
    try:
        assert provider.resource.attributes["service.name"] == "wallet-worker"
    finally:
        tracing.stop()


def _provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(root=tracing.RootsAtRequestsAndJobs()))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_a_trace_starts_at_a_request_or_a_job_never_at_a_lone_query() -> None:
    provider, exporter = _provider()
    tracer = provider.get_tracer(__name__)
    with tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT) as lone:
        assert not lone.is_recording()
    with (
        tracer.start_as_current_span("POST /graphql", kind=SpanKind.SERVER),
        tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT) as query,
    ):
        assert query.is_recording()
    with tracer.start_as_current_span("a_job", kind=SpanKind.CONSUMER):
        pass
    assert [(s.name, s.kind) for s in exporter.get_finished_spans()] == [
        ("SELECT", SpanKind.CLIENT),
        ("POST /graphql", SpanKind.SERVER),
        ("a_job", SpanKind.CONSUMER),
    ]


def test_a_log_line_carries_the_ids_of_the_current_span() -> None:
    provider, _ = _provider()
    with provider.get_tracer(__name__).start_as_current_span("job", kind=SpanKind.CONSUMER) as span:
        line = add_trace_ids(None, "info", {"event": "did it"})
    context = span.get_span_context()
    assert line == {
        "event": "did it",
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
    }
    assert len(line["trace_id"]) == 32


def test_a_log_line_outside_any_span_has_no_trace_id() -> None:
    assert add_trace_ids(None, "info", {"event": "idle"}) == {"event": "idle"}


def test_the_configured_logging_adds_the_trace_ids() -> None:
    configure_logging()
    assert add_trace_ids in structlog.get_config()["processors"]
