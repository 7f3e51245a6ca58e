"""Sign-up, log-in, sessions and log-out through GraphQL over real HTTP."""

import asyncio

import pytest

from tests.conftest import LiveServer, run_live_server
from tests.factories import PASSWORD, make_user, sign_up_request
from tests.graphql_client import LOG_IN, LOG_OUT, ME, SIGN_UP, gql
from wallet.config import Settings
from wallet.db.engine import connection


def sign_up_input(**overrides: str) -> dict[str, str]:
    r = sign_up_request(**overrides)
    return {"email": r.email, "phone": r.phone, "username": r.username, "password": r.password}


async def row_counts() -> tuple[int, int, int, int]:
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM app_user), (SELECT count(*) FROM wallet),"
            " (SELECT count(*) FROM ledger_account WHERE owner_type = 'user'),"
            " (SELECT count(*) FROM outbox_event)"
        )
    return tuple(row)  # type: ignore[return-value]


async def test_sign_up_creates_user_wallet_and_usd_account_and_logs_in(
    live_server: LiveServer,
) -> None:
    async with live_server.client() as http:
        data = (await gql(http, SIGN_UP, {"input": sign_up_input(username="New_Person")}))["data"]
        assert data["signUp"]["__typename"] == "AuthPayload"
        assert data["signUp"]["token"] is None  # cookie transport: token never in the body
        cookie = http.cookies.get("wallet_session")
        assert cookie
        me = (await gql(http, ME))["data"]
    assert me["me"]["username"] == "new_person"
    assert me["wallet"] == {
        "status": "active",
        "balances": [{"currency": "USD", "available": "0.00", "posted": "0.00", "pending": "0.00"}],
    }
    assert await row_counts() == (1, 1, 1, 1)


async def test_session_cookie_is_http_only_and_same_site(live_server: LiveServer) -> None:
    async with live_server.client() as http:
        response = await http.post(
            "/graphql", json={"query": SIGN_UP, "variables": {"input": sign_up_input()}}
        )
    set_cookie = response.headers["set-cookie"].lower()
    assert "wallet_session=" in set_cookie
    assert "httponly" in set_cookie
    assert "samesite=lax" in set_cookie
    assert "path=/" in set_cookie


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("email", "nope", "INVALID"),
        ("phone", "123", "INVALID"),
        ("username", "x!", "INVALID"),
        ("password", "weak", "WEAK"),
    ],
)
async def test_invalid_sign_up_is_a_typed_error_and_writes_nothing(
    live_server: LiveServer,
    field: str,
    value: str,
    code: str,
) -> None:
    async with live_server.client() as http:
        result = await gql(http, SIGN_UP, {"input": sign_up_input(**{field: value})})
    payload = result["data"]["signUp"]
    assert payload["__typename"] == "ValidationError"
    assert payload["code"] == "VALIDATION_ERROR"
    assert {(e["field"], e["code"]) for e in payload["fieldErrors"]} == {(field, code)}
    assert await row_counts() == (0, 0, 0, 0)


@pytest.mark.parametrize("field", ["email", "phone", "username"])
async def test_duplicate_identity_is_reported_as_taken(live_server: LiveServer, field: str) -> None:
    first = sign_up_input()
    second = sign_up_input(**{field: first[field].upper() if field != "phone" else first[field]})
    async with live_server.client() as http:
        await gql(http, SIGN_UP, {"input": first})
        payload = (await gql(http, SIGN_UP, {"input": second}))["data"]["signUp"]
    assert payload["__typename"] == "ValidationError"
    assert [(e["field"], e["code"]) for e in payload["fieldErrors"]] == [(field, "TAKEN")]
    assert (await row_counts())[:3] == (1, 1, 1)


async def test_concurrent_duplicate_sign_ups_create_exactly_one_user(
    live_server: LiveServer,
) -> None:
    same = sign_up_input()
    async with live_server.client() as http:
        results = await asyncio.gather(*(gql(http, SIGN_UP, {"input": same}) for _ in range(8)))
    kinds = sorted(r["data"]["signUp"]["__typename"] for r in results)
    assert kinds == ["AuthPayload"] + ["ValidationError"] * 7
    assert await row_counts() == (1, 1, 1, 1)


async def test_bearer_transport_returns_a_token_and_sets_no_cookie(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    async with live_server.client() as http:
        payload = await gql(
            http,
            LOG_IN,
            {"input": {"login": user.email, "password": PASSWORD, "sessionTransport": "BEARER"}},
        )
        token = payload["data"]["logIn"]["token"]
        assert token and "wallet_session" not in http.cookies
        assert (await gql(http, ME))["data"]["me"] is None
        assert (await gql(http, ME, token=token))["data"]["me"]["username"] == user.username


@pytest.mark.parametrize("login_with", ["username", "email", "phone"])
async def test_log_in_accepts_username_email_or_phone(
    live_server: LiveServer, login_with: str
) -> None:
    user = await make_user()
    login = {"username": user.username.upper(), "email": user.email, "phone": user.phone}[
        login_with
    ]
    async with live_server.client() as http:
        result = await gql(http, LOG_IN, {"input": {"login": login, "password": PASSWORD}})
    assert result["data"]["logIn"]["user"]["username"] == user.username


async def test_log_out_revokes_the_session(live_server: LiveServer) -> None:
    user = await make_user()
    async with live_server.client() as http:
        await gql(http, LOG_IN, {"input": {"login": user.username, "password": PASSWORD}})
        old_cookie = http.cookies["wallet_session"]
        assert (await gql(http, LOG_OUT))["data"]["logOut"] == {
            "__typename": "LogOutPayload",
            "ok": True,
        }
        http.cookies.set("wallet_session", old_cookie)  # replaying the old token
        assert (await gql(http, ME))["data"] == {"me": None, "wallet": None}
        assert (await gql(http, LOG_OUT))["data"]["logOut"]["__typename"] == "NotAuthenticated"


async def test_log_in_issues_a_new_token_and_revokes_the_previous_one(
    live_server: LiveServer,
) -> None:
    user = await make_user()
    creds = {"input": {"login": user.username, "password": PASSWORD, "sessionTransport": "BEARER"}}
    async with live_server.client() as http:
        first = (await gql(http, LOG_IN, creds))["data"]["logIn"]["token"]
        response = await http.post(
            "/graphql",
            json={"query": LOG_IN, "variables": creds},
            headers={"authorization": f"Bearer {first}"},
        )
        second = response.json()["data"]["logIn"]["token"]
        assert second != first
        assert (await gql(http, ME, token=first))["data"]["me"] is None
        assert (await gql(http, ME, token=second))["data"]["me"]["username"] == user.username


async def test_wrong_password_is_a_typed_error(live_server: LiveServer) -> None:
    user = await make_user()
    async with live_server.client() as http:
        for login in (user.username, "nobody_here"):
            payload = await gql(
                http, LOG_IN, {"input": {"login": login, "password": "wrong-password-1"}}
            )
            assert payload["data"]["logIn"]["__typename"] == "InvalidCredentials"
            assert payload["data"]["logIn"]["code"] == "INVALID_CREDENTIALS"


async def test_failed_logins_are_rate_limited_per_account(live_server: LiveServer) -> None:
    user = await make_user()
    limit = live_server.settings.throttle.login_failures_per_account
    async with live_server.client() as http:
        for _ in range(limit):
            result = await gql(
                http, LOG_IN, {"input": {"login": user.username, "password": "wrong-password-1"}}
            )
            assert result["data"]["logIn"]["__typename"] == "InvalidCredentials"
        # Even the right password is refused until the window passes.
        blocked = (
            await gql(http, LOG_IN, {"input": {"login": user.username, "password": PASSWORD}})
        )["data"]["logIn"]
    assert blocked["__typename"] == "RateLimited"
    assert 0 < blocked["retryAfterSeconds"] <= live_server.settings.throttle.login_window_seconds


async def test_failed_logins_are_rate_limited_per_ip(settings: Settings) -> None:
    settings = settings.replace(throttle={"login_failures_per_ip": 3})
    user = await make_user()
    async with run_live_server(settings) as live, live.client() as http:
        for n in range(3):
            await gql(http, LOG_IN, {"input": {"login": f"ghost_{n}", "password": "x" * 12}})
        blocked = (
            await gql(http, LOG_IN, {"input": {"login": user.username, "password": PASSWORD}})
        )["data"]["logIn"]
    assert blocked["__typename"] == "RateLimited"


async def test_idle_session_expires(settings: Settings) -> None:
    settings = settings.replace(auth={"session_idle_seconds": 1})
    user = await make_user()
    async with run_live_server(settings) as live, live.client() as http:
        await gql(http, LOG_IN, {"input": {"login": user.username, "password": PASSWORD}})
        assert (await gql(http, ME))["data"]["me"] is not None
        await asyncio.sleep(2.1)
        assert (await gql(http, ME))["data"]["me"] is None


async def test_session_ends_at_its_absolute_lifetime_even_when_active(
    settings: Settings,
) -> None:
    settings = settings.replace(auth={"session_idle_seconds": 60, "session_absolute_seconds": 2})
    user = await make_user()
    async with run_live_server(settings) as live, live.client() as http:
        await gql(http, LOG_IN, {"input": {"login": user.username, "password": PASSWORD}})
        for _ in range(3):
            assert (await gql(http, ME))["data"]["me"] is not None
            await asyncio.sleep(0.4)
        await asyncio.sleep(1.2)
        assert (await gql(http, ME))["data"]["me"] is None


async def test_malformed_query_is_a_graphql_error_not_a_500(live_server: LiveServer) -> None:
    async with live_server.client() as http:
        response = await http.post("/graphql", json={"query": "mutation { signUp(input: {"})
        assert response.status_code in (200, 400)
        assert response.json()["data"] is None
        assert "Syntax Error" in response.json()["errors"][0]["message"]
        response = await http.post(
            "/graphql", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        response = await http.post("/graphql", json={"variables": {}})
        assert response.status_code == 400
    assert await row_counts() == (0, 0, 0, 0)


async def test_unknown_field_is_a_validation_error(live_server: LiveServer) -> None:
    async with live_server.client() as http:
        body = await gql(http, "{ me { username passwordHash } }")
    assert body["data"] is None
    assert "Cannot query field 'passwordHash'" in body["errors"][0]["message"]


async def test_queries_and_mutations_over_get_are_refused(live_server: LiveServer) -> None:
    async with live_server.client() as http:
        response = await http.get("/graphql", params={"query": LOG_OUT})
    assert response.status_code in (400, 404, 405)
    assert "wallet_session" not in response.headers.get("set-cookie", "")


async def test_overly_deep_queries_are_rejected(live_server: LiveServer) -> None:
    deep = (
        "{ __schema { types { fields { type { fields { type { fields { type { fields { type {"
        " fields { name } } } } } } } } } } } }"
    )
    async with live_server.client() as http:
        body = await gql(http, deep)
    assert body.get("data") is None
    assert "depth" in body["errors"][0]["message"].lower()


async def test_health_ready_and_request_id(live_server: LiveServer) -> None:
    async with live_server.client() as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        ready = await http.get("/ready", headers={"x-request-id": "req-123"})
    assert ready.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}
    assert ready.headers["x-request-id"] == "req-123"


async def test_ready_reports_unavailable_when_redis_is_down(settings: Settings) -> None:
    settings = settings.replace(redis_url="redis://127.0.0.1:1/0")
    async with run_live_server(settings) as live, live.client() as http:
        response = await http.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["postgres"] == "ok"
    assert response.json()["checks"]["redis"].startswith("error")
