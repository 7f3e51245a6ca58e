"""Issue 18, item 6: passkeys at the address `make dev` prints. In development the
relying party follows the host the page is served from; on an IP address (browsers
refuse one as a relying party) the app says plainly where passkeys work, before any
ceremony starts, instead of the browser's failure showing as "No passkey was made"."""

from __future__ import annotations

import json

from tests.conftest import run_live_server
from tests.factories import make_user
from tests.graphql_client import token_for
from tests.integration.test_production_hardening import production
from wallet.config import Settings

START_LOG_IN = """
mutation { startPasskeyLogIn { __typename
  ... on PasskeyOptionsPayload { options }
  ... on ValidationError { code message fieldErrors { field code message } } } }"""

START_REGISTRATION = """
mutation { startPasskeyRegistration { __typename
  ... on PasskeyOptionsPayload { options }
  ... on StepUpRequired { methods }
  ... on ValidationError { message fieldErrors { field code message } } } }"""


async def test_in_development_the_relying_party_is_the_host_being_served(
    settings: Settings,
) -> None:
    async with run_live_server(settings) as live, live.client() as http:
        port = live.url.rsplit(":", 1)[1]
        for host in ("localhost", "wallet.test"):
            started = (
                await http.post(
                    "/graphql",
                    json={"query": START_LOG_IN},
                    headers={"origin": f"http://{host}:{port}"},
                )
            ).json()
            payload = started["data"]["startPasskeyLogIn"]
            assert payload["__typename"] == "PasskeyOptionsPayload", payload
            assert json.loads(payload["options"])["rpId"] == host


async def test_on_an_ip_address_the_app_says_passkeys_need_localhost(settings: Settings) -> None:
    """The tester, at http://127.0.0.1:8000/: "No passkey was made"."""
    user = await make_user(pin="1234")
    async with run_live_server(settings) as live, live.client() as http:
        token = await token_for(live, user)
        port = live.url.rsplit(":", 1)[1]
        plain = f"Passkeys need http://localhost:{port}"
        for query, field in (
            (START_REGISTRATION, "startPasskeyRegistration"),
            (START_LOG_IN, "startPasskeyLogIn"),
        ):
            answer = (
                await http.post(
                    "/graphql",
                    json={"query": query},
                    headers={"origin": live.url, "authorization": f"Bearer {token}"},
                )
            ).json()["data"][field]
            assert answer["__typename"] == "ValidationError", answer
            assert answer["message"].startswith(plain), answer
            assert answer["fieldErrors"][0]["code"] == "PASSKEYS_NEED_HOST"


async def test_a_configured_relying_party_is_kept_and_other_hosts_are_told_where_to_go(
    settings: Settings,
) -> None:
    for configured in (
        settings.replace(auth={"webauthn_rp_id": "localhost"}),
        production(settings, auth={"webauthn_rp_id": "localhost"}),
    ):
        async with run_live_server(configured) as live, live.client() as http:
            port = live.url.rsplit(":", 1)[1]
            answers = [
                (
                    await http.post(
                        "/graphql",
                        json={"query": START_LOG_IN},
                        headers={"origin": f"http://{host}:{port}"},
                    )
                ).json()["data"]["startPasskeyLogIn"]
                for host in ("localhost", "wallet.test")
            ]
        assert json.loads(answers[0]["options"])["rpId"] == "localhost"
        assert answers[1]["message"].startswith(f"Passkeys need http://localhost:{port}")
