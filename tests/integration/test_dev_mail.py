"""Issue 18, item 7: codes can be read in development. Email goes out over real SMTP
(aiosmtplib) to a local aiosmtpd sink, and the dev Inbox lists what was sent, with its
code; production refuses the inbox and plain SMTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import run_live_server
from tests.factories import make_user
from tests.graphql_client import gql, token_for
from tests.integration.test_production_hardening import production
from tests.integration.test_sandbox_outboxes import everything_in
from wallet.app import create_app
from wallet.config import Settings
from wallet.notifications.email import EmailMessage, EmailRejected
from wallet.notifications.inbox import Channel, read_inbox
from wallet.notifications.mail_sink import start_sink
from wallet.notifications.sms import SandboxSmsProvider
from wallet.notifications.smtp import SmtpEmailProvider, SmtpServer

INBOX = """
query($to: String) {
  devInbox(to: $to) { id channel to subject body code }
}"""


@pytest.fixture
async def sink_port(redis: Redis) -> AsyncIterator[int]:
    """A real aiosmtpd sink on a free loopback port, in the test's event loop."""
    server = await start_sink(redis, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


def smtp_settings(settings: Settings, port: int) -> Settings:
    return settings.replace(
        providers={"email": "smtp"},
        notifications={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_tls": "none",
            "dev_inbox": True,
        },
    )


async def test_an_email_crosses_smtp_to_the_sink_and_is_kept_sealed(
    redis: Redis, sink_port: int
) -> None:
    provider = SmtpEmailProvider(
        SmtpServer("127.0.0.1", sink_port, "none", "Wallet <no-reply@wallet.localhost>")
    )
    message_id = await provider.send(
        EmailMessage("ann@example.com", "Your code", "Your Wallet code is 581204.\nBye.")
    )
    assert message_id.startswith("<") and message_id.endswith("@wallet.localhost>")
    [received] = await read_inbox(redis, to="Ann@Example.com")
    assert (received.channel, received.subject, received.code) == (
        Channel.EMAIL,
        "Your code",
        "581204",
    )
    assert received.body == "Your Wallet code is 581204.\nBye."
    # Kept like the sandbox's outbox: sealed (no code or address in clear), expiring.
    dump = await everything_in(redis)
    assert "581204" not in dump and "ann@example.com" not in dump
    assert all([await redis.ttl(k) > 0 async for k in redis.scan_iter("*")])
    # An address the sink refuses for good is a rejection, as with the sandbox.
    with pytest.raises(EmailRejected, match="does not exist"):
        await provider.send(EmailMessage("gone@bounce.example.com", "Hi", "Hello"))


async def test_a_new_user_reads_the_emailed_code_in_the_dev_inbox_and_confirms(
    settings: Settings, redis: Redis, sink_port: int
) -> None:
    """The tester: email stayed "not confirmed" forever under `make dev`."""
    user = await make_user()
    await SandboxSmsProvider(redis).send("+14155550142", "Your Wallet code is 111222.")
    async with run_live_server(smtp_settings(settings, sink_port)) as live:
        token = await token_for(live, user)
        async with live.client() as http:
            sent = await gql(
                http,
                "mutation { sendVerificationCode(channel: EMAIL) { __typename } }",
                token=token,
            )
            assert sent["data"]["sendVerificationCode"]["__typename"] == "VerificationSentPayload"
            inbox = (await gql(http, INBOX, {"to": user.email}))["data"]["devInbox"]
            assert [m["channel"] for m in inbox] == ["EMAIL"]
            code = inbox[0]["code"]
            assert code and code in inbox[0]["body"]
            everything = (await gql(http, INBOX))["data"]["devInbox"]
            assert {m["channel"] for m in everything} == {"EMAIL", "SMS"}  # texts too
            confirmed = await gql(
                http,
                "mutation($code: String!) { verifyContact(channel: EMAIL, code: $code) { "
                "__typename ... on ContactVerifiedPayload { contact } } }",
                {"code": code},
                token=token,
            )
            assert confirmed["data"]["verifyContact"] == {
                "__typename": "ContactVerifiedPayload",
                "contact": user.email.lower(),
            }
            security = await gql(http, "{ security { contacts { emailVerified } } }", token=token)
            assert security["data"]["security"]["contacts"]["emailVerified"] is True
            page = await http.get("/dev/inbox")
            assert page.status_code == 200 and '<div id="root">' in page.text


async def test_the_inbox_is_refused_in_production(settings: Settings, sink_port: int) -> None:
    prod = production(settings)
    async with run_live_server(prod) as live, live.client() as http:
        refused = await gql(http, INBOX)
        assert refused["data"] is None
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        enabled = await gql(http, "{ devInboxEnabled }")
        assert enabled["data"] == {"devInboxEnabled": False}
        page = await http.get("/dev/inbox")
        assert page.status_code == 404
    # Turning it on, or sending codes over plain SMTP (the sink's way), stops production.
    for unsafe in (
        {"notifications": {"dev_inbox": True}},
        {
            "providers": {"email": "smtp"},
            "notifications": {"smtp_host": "127.0.0.1", "smtp_tls": "none"},
        },
    ):
        with pytest.raises(RuntimeError, match="refusing to start"):
            create_app(production(settings, **unsafe))
    # A real relay over TLS is fine.
    relay = production(
        settings, providers={"email": "smtp"}, notifications={"smtp_host": "smtp.example.com"}
    )
    assert not [p for p in relay.production_problems() if "SMTP" in p or "EMAIL" in p]


async def test_the_inbox_is_off_outside_development_unless_asked(settings: Settings) -> None:
    assert settings.replace(environment="development").dev_inbox_enabled
    assert not settings.replace(environment="staging").dev_inbox_enabled
    assert settings.replace(
        environment="staging", notifications={"dev_inbox": True}
    ).dev_inbox_enabled
    assert not settings.replace(
        environment="production", notifications={"dev_inbox": True}
    ).dev_inbox_enabled
    async with (
        run_live_server(settings.replace(environment="staging")) as live,
        httpx.AsyncClient(base_url=live.url) as http,
    ):
        refused = await gql(http, INBOX)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
