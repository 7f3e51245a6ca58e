"""Per-operation GraphQL context: the services, the client's session token and viewer.

The same context serves HTTP (cookie or `Authorization: Bearer`) and WebSocket
operations (the handshake's cookie, or `authorization` in `connection_init`'s payload).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import strawberry
from litestar.datastructures import State
from strawberry.dataloader import DataLoader
from strawberry.litestar import BaseContext

from wallet.api.graphql.errors import ErrorCode, PublicError
from wallet.api.state import Services
from wallet.api.tokens import request_token
from wallet.auth.sessions import Session
from wallet.commands.actor import Actor
from wallet.fraud.engine import RiskContext, parse_geo
from wallet.merchants import service as merchants
from wallet.merchants.errors import MerchantNotFound
from wallet.merchants.service import Principal
from wallet.security.policy import Proof, SessionState
from wallet.security.stepup import LargeAmountCheck
from wallet.users.models import User
from wallet.users.service import get_user


class Context(BaseContext, kw_only=True):
    services: Services
    connection_params: dict[str, Any] | None = None
    viewer_cache: User | None = None
    viewer_session: Session | None = None
    session_loaded: bool = False
    viewer_loaded: bool = False
    proofs_cache: tuple[Proof, ...] = ()
    actor_cache: Actor | None = None
    loaders: dict[str, DataLoader[Any, Any]] = msgspec.field(default_factory=dict)

    def loader(
        self, name: str, load: Callable[[list[Any]], Awaitable[list[Any]]]
    ) -> DataLoader[Any, Any]:
        """A per-operation DataLoader (batches N lookups into one query)."""
        if name not in self.loaders:
            self.loaders[name] = DataLoader(load_fn=load)
        return self.loaders[name]

    def session_token(self) -> str | None:
        conn = self.request or self.websocket
        if conn is None:
            return None
        headers: dict[str, str] = dict(conn.headers)
        if isinstance(self.connection_params, dict):
            # A WebSocket client may send its bearer token in connection_init instead.
            headers["authorization"] = str(
                self.connection_params.get("authorization", headers.get("authorization", ""))
            )
        return request_token(headers, conn.cookies, self.services.settings)

    def client_ip(self) -> str:
        conn = self.request or self.websocket
        if conn is None:
            return "unknown"
        return self.services.proxies.client_ip(
            conn.client.host if conn.client else None, conn.headers.get("x-forwarded-for")
        )

    def risk_context(self) -> RiskContext:
        """What the fraud rules may know of where this request came from: user agent,
        the session's device (bound at sign-in), IP address and the position the app
        reports (`X-Client-Geo: <latitude>,<longitude>`, ignored when malformed)."""
        conn = self.request or self.websocket
        headers = conn.headers if conn is not None else {}
        session = self.viewer_session
        return RiskContext(
            user_agent=headers.get("user-agent", ""),
            device=session.device_fingerprint if session is not None else None,
            ip=self.client_ip(),
            geo=parse_geo(headers.get("x-client-geo")),
        )

    async def session(self) -> Session | None:
        """The client's live user session, or None; resolved once per operation, in one
        Redis round trip with the step-up proofs it gave (`session_state`)."""
        if not self.session_loaded:
            token = self.session_token()
            if token and token.startswith(merchants.KEY_PREFIX):
                token = None  # a merchant key is not a user session
            services = self.services
            self.viewer_session, self.proofs_cache = (
                await services.sessions.resolve_with(token, services.step_up.reader(token))
                if token
                else (None, ())
            )
            self.session_loaded = True
        return self.viewer_session

    async def viewer(self) -> User | None:
        """The logged-in user, or None; resolved once per operation."""
        if not self.viewer_loaded:
            session = await self.session()
            self.viewer_cache = await get_user(session.user_id) if session else None
            self.viewer_loaded = True
        return self.viewer_cache

    async def session_state(self) -> SessionState:
        """What the step-up policy knows of the session making this request."""
        session = await self.session()
        now, fresh = time.time(), self.services.step_up.seconds
        return SessionState(
            started_at=session.created_at if session is not None else now,
            new_device=session is not None and session.new_device,
            # Read with the session, once; still fresh now (a WebSocket's context lives
            # as long as its connection).
            proofs=tuple(p for p in self.proofs_cache if now - p.at <= fresh)
            if session is not None
            else (),
        )

    async def actor(self) -> Actor | None:
        """Who acts in this request (built once): the signed-in user with the session's
        step-up state and risk context, or a merchant API key; None for no one."""
        if self.actor_cache is not None:
            return self.actor_cache
        token = self.session_token() or ""
        if token.startswith(merchants.KEY_PREFIX):
            principal = await merchants.authenticate_api_key(token)
            if principal is None:
                return None
            self.actor_cache = Actor.merchant_key(principal.merchant_id)
            return self.actor_cache
        user = await self.viewer()
        if user is None:
            return None
        services = self.services
        step_up = LargeAmountCheck(
            session=await self.session_state(),
            above_usd_minor=services.settings.step_up.send_above.amount_minor,
            fresh_seconds=services.step_up.seconds,
            rates=await services.fx.provider.snapshot(),
        )
        self.actor_cache = Actor.user(user.id, step_up=step_up, risk=self.risk_context())
        return self.actor_cache

    async def require_viewer(self) -> User:
        user = await self.viewer()
        if user is None:
            raise PublicError(ErrorCode.NOT_AUTHENTICATED, "Log in first")
        return user

    async def session_active(self) -> bool:
        """Whether the client's session still exists (one Redis read, no user lookup)."""
        token = self.session_token()
        return token is not None and await self.services.sessions.resolve(token) is not None

    async def merchant_principal(self, merchant_id: int | None) -> Principal | None:
        """Who acts for a merchant: a merchant API key (`Bearer mk_…`), or a logged-in
        staff member of `merchant_id`; None for anyone else."""
        token = self.session_token() or ""
        if token.startswith(merchants.KEY_PREFIX):
            principal = await merchants.authenticate_api_key(token)
            if principal is None or merchant_id not in (None, principal.merchant_id):
                return None
            return principal
        user = await self.viewer()
        if user is None or merchant_id is None:
            return None
        try:
            return await merchants.staff_principal(merchant_id, user.id)
        except MerchantNotFound:
            return None

    def forget_viewer(self) -> None:
        self.viewer_cache, self.viewer_loaded, self.actor_cache = None, False, None
        self.viewer_session, self.session_loaded, self.proofs_cache = None, False, ()


Info = strawberry.Info[Context, None]


async def context_getter(state: State) -> Context:
    return Context(services=state["services"])
