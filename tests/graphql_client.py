"""A tiny GraphQL-over-HTTP helper for tests (real HTTP against the live server)."""

from __future__ import annotations

from typing import Any

import httpx


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


SIGN_UP = """
mutation($input: SignUpInput!) {
  signUp(input: $input) {
    __typename
    ... on AuthPayload { token user { id username email phone } }
    ... on ValidationError { code message fieldErrors { field code message } }
    ... on RateLimited { code retryAfterSeconds }
  }
}"""

LOG_IN = """
mutation($input: LogInInput!) {
  logIn(input: $input) {
    __typename
    ... on AuthPayload { token user { id username } }
    ... on InvalidCredentials { code message }
    ... on RateLimited { code message retryAfterSeconds }
  }
}"""

LOG_OUT = "mutation { logOut { __typename ... on LogOutPayload { ok } } }"

ME = "{ me { username } wallet { status balances { currency available posted pending } } }"
