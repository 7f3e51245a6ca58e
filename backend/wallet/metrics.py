"""The service's Prometheus metrics: every name, its labels and where it is counted.

Counters and histograms are cheap and in-process: the API counts as it serves, the
worker as it works. The API runs several uvicorn processes: each writes its values to
files under `PROMETHEUS_MULTIPROC_DIR` (prometheus-client's multiprocess mode, which
`wallet serve` sets up) and `/metrics` adds them up. Gauges that need SQL are computed
by a worker job on a schedule (`wallet.observability`), never per scrape; the worker
serves its own registry on its own port.

docs/operations.md lists them for operators, with the alerts built on them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

# Seconds: GraphQL operations and send batches take milliseconds to a few seconds.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)

# --- the API (counted in each process; added up across processes) -------------------------
GRAPHQL_SECONDS = Histogram(
    "wallet_graphql_operation_seconds",
    "GraphQL operations served, by root field and operation type, and how long each took.",
    ["operation", "type"],
    buckets=LATENCY_BUCKETS,
)
GRAPHQL_ERRORS = Counter(
    "wallet_graphql_errors",
    "Errors answered: typed refusals by their code, INTERNAL for masked server errors, "
    "INVALID_QUERY for documents that do not parse or validate.",
    ["code"],
)
DB_POOL = Gauge(
    "wallet_db_pool_connections",
    "The database pool's connections in this process: size, idle and in use.",
    ["state"],
    multiprocess_mode="livesum",
)
SEND_BATCH_SECONDS = Histogram(
    "wallet_send_batch_seconds",
    "The ledger write path: one batch of sends, its transaction from BEGIN to COMMIT.",
    buckets=LATENCY_BUCKETS,
)
SEND_BATCH_SENDS = Histogram(
    "wallet_send_batch_sends", "Sends per batch.", buckets=BATCH_SIZE_BUCKETS
)
SUBSCRIPTIONS = Gauge(
    "wallet_subscriptions_active",
    "GraphQL subscriptions open now.",
    multiprocess_mode="livesum",
)
RATE_LIMIT_REFUSALS = Counter(
    "wallet_rate_limit_refusals", "Requests refused by a rate limit, by limit.", ["limit"]
)
START_TIME = Gauge(
    "wallet_start_time_seconds",
    "When this process started (Unix time): uptime is time() minus this.",
    multiprocess_mode="max",
)

# --- the worker ------------------------------------------------------------------------
WEBHOOK_DELIVERIES = Counter(
    "wallet_webhook_deliveries", "Merchant webhook delivery attempts, by outcome.", ["outcome"]
)
# `task`, not `job`: Prometheus gives every target a `job` label of its own.
WORKER_JOBS = Counter(
    "wallet_worker_jobs", "Worker jobs run, by task and outcome.", ["task", "outcome"]
)


def worker_gauge(name: str, documentation: str, labels: tuple[str, ...] = ()) -> Gauge:
    """A gauge the worker's scheduled job sets (SQL or Redis behind it)."""
    return Gauge(name, documentation, list(labels), multiprocess_mode="liveall")


QUEUE_DEPTH = worker_gauge("wallet_worker_queue_depth", "Jobs waiting in the worker's queue.")
OUTBOX_BACKLOG = worker_gauge("wallet_outbox_backlog", "Outbox events not yet published.")
PARTITIONS_AHEAD = worker_gauge(
    "wallet_history_partitions_ahead_days",
    "Days until the first month or day that has no partition yet, over the partitioned "
    "history tables (inserts there would fail).",
)
OUTBOX_LAG = worker_gauge(
    "wallet_outbox_lag_seconds", "Age of the oldest unpublished outbox event (0 when none)."
)
ACTIVE_WALLETS = worker_gauge(
    "wallet_active_wallets",
    "Users with a money movement in the last day or month.",
    ("window",),
)
TRANSACTIONS_24H = worker_gauge(
    "wallet_transactions_24h",
    "Completed transactions in the last 24 hours, by type and currency.",
    ("type", "currency"),
)
TRANSACTION_VALUE_24H = worker_gauge(
    "wallet_transaction_value_24h",
    "Their value in major units, by type and currency.",
    ("type", "currency"),
)
TRANSACTION_AVERAGE_24H = worker_gauge(
    "wallet_transaction_average_24h",
    "Their average size in major units, by type and currency.",
    ("type", "currency"),
)
ADD_MONEY_24H = worker_gauge(
    "wallet_add_money_attempts_24h",
    "Add-money attempts begun in the last 24 hours, by outcome.",
    ("outcome",),
)
ADD_MONEY_SUCCESS = worker_gauge(
    "wallet_add_money_success_ratio_24h",
    "Completed add-money attempts over those decided, last 24 hours (1 when none).",
)
CUSTOMER_BALANCES = worker_gauge(
    "wallet_customer_balances",
    "Customer money held: the sum of user wallet balances, major units, by currency.",
    ("currency",),
)
USERS = worker_gauge("wallet_users", "Users by status.", ("status",))
CHURNED_30D = worker_gauge(
    "wallet_churned_users_30d", "Users who closed their account in the last 30 days."
)
FRAUD_DECISIONS_24H = worker_gauge(
    "wallet_fraud_decisions_24h",
    "Payments the fraud rules held or blocked in the last 24 hours.",
    ("decision",),
)
FRAUD_FALSE_POSITIVES_24H = worker_gauge(
    "wallet_fraud_false_positives_24h",
    "Held payments a reviewer released in the last 24 hours (the rules were wrong).",
)
KYC_REVIEWS_OPEN = worker_gauge("wallet_kyc_reviews_open", "KYC reviews waiting for an operator.")
AML_CASES_OPEN = worker_gauge("wallet_aml_cases_open", "AML cases not closed.")
LEDGER_CHECK_BREACHES = worker_gauge(
    "wallet_ledger_check_breaches",
    "Breaches the last scheduled ledger check found (0: the money is sound).",
)
LEDGER_CHECK_LAST_RUN = worker_gauge(
    "wallet_ledger_check_last_run_timestamp_seconds",
    "When the scheduled ledger check last finished (Unix time).",
)
RECONCILIATION_OPEN_BREAKS = worker_gauge(
    "wallet_reconciliation_open_breaks",
    "Reconciliation breaks not yet resolved, by kind.",
    ("kind",),
)
RECONCILIATION_OLDEST_BREAK = worker_gauge(
    "wallet_reconciliation_oldest_open_break_seconds",
    "Age of the oldest unresolved reconciliation break (0 when none).",
)
SAFEGUARDING_DIFFERENCE = worker_gauge(
    "wallet_safeguarding_difference",
    "The last safeguarding check: bank balance minus customer money, major units, by "
    "currency (below zero is a shortfall).",
    ("currency",),
)
COMPUTED_AT = worker_gauge(
    "wallet_metrics_computed_timestamp_seconds",
    "When the worker last computed these gauges (Unix time).",
)


def in_multiprocess_mode() -> bool:
    """Whether this process's values go to the shared files: prometheus-client chose
    when it was first imported, by whether `PROMETHEUS_MULTIPROC_DIR` was set."""
    return values.ValueClass is not values.MutexValue


def process_started() -> None:
    START_TIME.set(time.time())


def process_stopped() -> None:
    """This process's live gauges leave the sum (multiprocess mode only)."""
    if in_multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets: every process's values in multiprocess mode, else this
    process's."""
    if not in_multiprocess_mode():
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


@contextmanager
def timed(histogram: Histogram) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.observe(time.perf_counter() - started)
