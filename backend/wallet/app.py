"""Litestar app factory: GraphQL at /graphql, health routes, and the built web app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.background_tasks import BackgroundTasks
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.response import File
from litestar.static_files import create_static_files_router
from redis.asyncio import Redis
from strawberry.litestar import make_graphql_controller
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from wallet import metrics, tracing
from wallet.api.books_export import financial_statement_file
from wallet.api.callbacks import gateway_callback
from wallet.api.exports import my_data_archive, my_data_json, statement_pdf, transactions_csv
from wallet.api.graphql.context import Context, context_getter
from wallet.api.graphql.schema import build_schema
from wallet.api.http import health, ready, request_id_middleware
from wallet.api.metrics import metrics_page
from wallet.api.qr import payment_request_png, payment_request_svg
from wallet.api.state import Services
from wallet.config import Settings, get_settings
from wallet.db import engine
from wallet.db.roles import refuse_privileged_role
from wallet.log import configure_logging

# How uvicorn serves the app, for `wallet serve` and the test suite's live servers alike.
# The app reads X-Forwarded-For itself, from WALLET_TRUSTED_PROXIES only
# (wallet.api.clientip): uvicorn's own proxy handling would believe 127.0.0.1 blindly.
SERVER_OPTIONS: dict[str, object] = {
    "proxy_headers": False,
    "log_config": None,
    "ws": "websockets-sansio",
    "lifespan": "on",
}


def dev_inbox_page(index_html: Path) -> HTTPRouteHandler:
    """`/dev/inbox`: the web app, which shows the Inbox there. Only registered when the dev
    inbox is on (never in production, where the path is 404 and `devInbox` refused)."""

    @get("/dev/inbox", include_in_schema=False, sync_to_thread=False)
    def page() -> File:
        return File(index_html, media_type="text/html", content_disposition_type="inline")

    return page


# The web app's sections: each is a page of the single-page app at /<section> and
# /<section>/<page> (the app routes them itself). Kept to one level under a section, so
# no API route below (/merchant/payment-requests/..., /operator/books/...) is shadowed,
# and an unknown top-level path is still a 404. Production's nginx does the same with
# `try_files $uri /index.html`.
APP_SECTIONS = ("pay", "activity", "accounts", "profile", "notifications", "merchant", "operator")


def app_pages(index_html: Path) -> HTTPRouteHandler:
    """The web app's own pages (`/activity`, `/pay/send`, `/operator/ledger`...): its
    index.html, so deep links and reloads land on the page. The API checks permissions
    on every query; the page itself holds nothing."""
    paths = [p for s in APP_SECTIONS for p in (f"/{s}", f"/{s}/{{page:str}}")]

    @get(paths, include_in_schema=False, sync_to_thread=False)
    def page() -> File:
        return File(index_html, media_type="text/html", content_disposition_type="inline")

    return page


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    settings.check()
    database_url, redis_url = settings.require_urls()
    configure_logging()
    tracing.enable(settings.tracing, tracing.API)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owns_pool = await engine.connect(
            database_url, pool_size=settings.db_pool_size, pgbouncer=settings.db_pgbouncer
        )
        owns_replicas = bool(settings.database_replica_urls) and not engine.has_replicas()
        if owns_replicas:
            await engine.connect_replicas(
                list(settings.database_replica_urls),
                max_lag_bytes=settings.replica_max_lag_bytes,
                pgbouncer=settings.db_pgbouncer,
            )
        if settings.is_production:
            await refuse_privileged_role()
        redis = Redis.from_url(redis_url)
        services = app.state["services"] = Services.build(settings, redis)
        metrics.process_started()
        pool_gauges = asyncio.create_task(_watch_pool())
        try:
            yield
        finally:
            pool_gauges.cancel()
            metrics.process_stopped()
            await services.hub.aclose()
            await redis.aclose()
            if owns_replicas:
                await engine.disconnect_replicas()
            if owns_pool:
                await engine.disconnect()

    graphql_controller = make_graphql_controller(
        build_schema(
            production=settings.is_production, replicas=bool(settings.database_replica_urls)
        ),
        path="/graphql",
        context_getter=context_getter,
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=False,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        allowed_origins=settings.allowed_ws_origins,
    )
    # Strawberry's controller builds every request's (empty) response in a worker thread
    # (`sync_to_thread=True`): a thread hop per request, which under load also waits
    # for the GIL. Built on the loop instead. And Litestar resolves sibling dependencies
    # in an anyio task group, a task each, every request: root value, response and
    # context are a chain here, each depending on the one before, so none is a sibling.
    graphql_controller.dependencies = {
        **graphql_controller.dependencies,
        "response": Provide(_graphql_response),
        "context": Provide(_graphql_context),
        "root_value": Provide(_no_root_value),
    }
    handlers: list[object] = [
        graphql_controller,
        health,
        ready,
        metrics_page,
        gateway_callback,
        payment_request_png,
        payment_request_svg,
        transactions_csv,
        statement_pdf,
        my_data_json,
        my_data_archive,
        financial_statement_file,
    ]
    if (settings.frontend_dist / "index.html").exists():
        if settings.dev_inbox_enabled:
            handlers.append(dev_inbox_page(settings.frontend_dist / "index.html"))
        handlers.append(app_pages(settings.frontend_dist / "index.html"))
        handlers.append(
            create_static_files_router(
                path="/",
                directories=[settings.frontend_dist],
                html_mode=True,
                include_in_schema=False,
            )
        )
    return Litestar(
        route_handlers=handlers,  # type: ignore[arg-type]
        lifespan=[lifespan],
        # With tracing on, its server span is outermost: the access line carries its id.
        middleware=[*tracing.asgi_middleware(), request_id_middleware],
        openapi_config=None,
        logging_config=None,  # keep the JSON logging configured above
    )


async def _graphql_response(root_value: None) -> Response[Any]:
    """The response a GraphQL request's resolvers may add headers and cookies to (it
    takes the root value only to come after it: see the controller)."""
    return Response({}, background=BackgroundTasks([]))


async def _graphql_context(request: Request[Any, Any, Any], response: Response[Any]) -> Context:
    """A GraphQL request's context, holding its request and the response above."""
    context = await context_getter(request.app.state)
    context.request, context.response = request, response
    return context


async def _no_root_value() -> None:
    return None


# How often each process writes its pool's figures for /metrics to read.
POOL_GAUGE_SECONDS = 5.0


async def _watch_pool() -> None:
    """Keep this process's database pool gauges current (a scrape may be served by
    another process, so they are written ahead, not read at scrape time)."""
    while True:
        size, idle = engine.pool_figures()
        metrics.DB_POOL.labels("size").set(size)
        metrics.DB_POOL.labels("idle").set(idle)
        metrics.DB_POOL.labels("in_use").set(size - idle)
        await asyncio.sleep(POOL_GAUGE_SECONDS)
