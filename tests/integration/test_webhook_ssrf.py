"""Finding 6 of the security review: SSRF through merchant webhooks.

The reviewer set a webhook URL of `http://127.0.0.1:8102/health` and read
`lastStatusCode 405`: the API was a port scanner for the platform's own network. These
tests use real HTTP servers on this machine; the "internal service" listens on
127.0.0.1, and where a test needs a stand-in for a merchant's public server, it listens
on 127.0.0.2 and the policy names that one address as allowed.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import LiveServer
from tests.graphql_client import call
from tests.http_receiver import Receiver, receiving
from tests.merchant_helpers import create, customer, pay, shop
from wallet.db.engine import connection
from wallet.merchants import webhooks
from wallet.merchants.errors import WebhookTargetRefused
from wallet.merchants.service import staff_principal
from wallet.security.egress import EgressPolicy, GuardedClient, IPAddress, TargetRefused

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")

SET_HOOK = """mutation($m: ID!, $url: String!) { setMerchantWebhook(merchantId: $m, url: $url) {
  __typename ... on WebhookEndpointPayload { secret }
  ... on ValidationError { fieldErrors { field code message } } } }"""
DELIVERIES = """query($m: ID!) { webhookDeliveries(merchantId: $m) {
  status attempts lastStatusCode lastError } }"""
PUBLIC_STAND_IN = ipaddress.ip_network("127.0.0.2/32")


@dataclass
class ScriptedDns:
    """A resolver whose answers the test chooses, one list per lookup (the last repeats)."""

    answers: list[list[str]]
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        answer = self.answers[min(len(self.asked), len(self.answers)) - 1]
        return [ipaddress.ip_address(a) for a in answer]


async def deliver(policy: EgressPolicy) -> int:
    async with GuardedClient(policy, timeout=5) as client:
        return await webhooks.deliver_due(
            client, datetime.now(UTC) + timedelta(seconds=1), retry_base=timedelta(seconds=1)
        )


async def test_a_loopback_webhook_is_refused_and_the_internal_service_never_called(
    live_server: LiveServer,
) -> None:
    """The reviewer's attack, with the default settings of `wallet dev` and production."""
    assert live_server.settings.merchants.webhook_allow_private_targets is False
    _, owner_token, merchant_id = await shop(live_server)
    _, buyer_token = await customer(live_server)
    async with receiving(Receiver()) as internal:
        port = internal.port
        for url in (
            f"http://127.0.0.1:{port}/health",
            f"http://localhost:{port}/health",
            f"http://[::1]:{port}/health",
            f"http://[::ffff:127.0.0.1]:{port}/health",
            f"http://2130706433:{port}/health",  # 127.0.0.1 as one decimal number
            f"http://127.1:{port}/health",
            f"http://0.0.0.0:{port}/health",
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            "http://[fd00:ec2::254]/latest/meta-data/",
            "http://10.0.0.5/admin",
            "http://100.64.0.1/",
            "https://192.168.1.1/",
            "http://no-such-host.invalid/",
        ):
            refused = await call(live_server, owner_token, SET_HOOK, {"m": merchant_id, "url": url})
            assert refused["__typename"] == "ValidationError", url
            ((error),) = refused["fieldErrors"]
            assert (error["field"], error["code"]) == ("url", "NOT_PUBLIC"), url
        # A URL stored before this check existed is refused by the worker as well.
        async with connection() as conn:
            await conn.execute(
                "UPDATE merchant SET webhook_url = $2, webhook_secret = 'whsec_x' WHERE id = $1",
                int(merchant_id),
                f"http://127.0.0.1:{port}/health",
            )
        request = (await create(live_server, owner_token, merchant_id, amount="1.00"))["request"]
        await pay(live_server, buyer_token, request["id"])
        assert await deliver(EgressPolicy.from_settings(live_server.settings)) == 1
        assert internal.received == []
    (delivery,) = await call(live_server, owner_token, DELIVERIES, {"m": merchant_id})
    assert (delivery["status"], delivery["attempts"], delivery["lastStatusCode"]) == (
        "PENDING",
        1,
        None,
    )
    assert delivery["lastError"].startswith("Refused: Webhooks go only to public")


async def test_dns_that_changes_after_configuration_cannot_reach_inside(
    live_server: LiveServer,
) -> None:
    """DNS rebinding: the name resolves to a public address when the URL is set, and to
    an internal one by the time the worker delivers."""
    owner, owner_token, merchant_id = await shop(live_server)
    _, buyer_token = await customer(live_server)
    async with (
        receiving(Receiver()) as internal,
        receiving(Receiver(), host="127.0.0.2", port=internal.port) as merchant,
    ):
        dns = ScriptedDns([["127.0.0.2"], ["127.0.0.1"]])
        policy = EgressPolicy(resolver=dns, allowed_networks=(PUBLIC_STAND_IN,))
        principal = await staff_principal(int(merchant_id), owner.id)
        url = f"http://hooks.merchant.example:{internal.port}/hooks/wallet"
        await webhooks.set_endpoint(principal, url, policy)  # 127.0.0.2 at this time
        request = (await create(live_server, owner_token, merchant_id, amount="2.00"))["request"]
        await pay(live_server, buyer_token, request["id"])
        assert await deliver(policy) == 1
        assert (internal.received, merchant.received) == ([], [])
        assert dns.asked == ["hooks.merchant.example", "hooks.merchant.example"]
    (delivery,) = await call(live_server, owner_token, DELIVERIES, {"m": merchant_id})
    assert delivery["lastError"].startswith("Refused:")


async def test_the_connection_goes_to_the_address_that_was_checked(
    live_server: LiveServer,
) -> None:
    """The address is resolved once per connection, checked, and connected to: a second
    lookup (which this DNS would answer with the internal address) never happens."""
    _, owner_token, merchant_id = await shop(live_server)
    _, buyer_token = await customer(live_server)
    async with (
        receiving(Receiver()) as internal,
        receiving(Receiver(), host="127.0.0.2", port=internal.port) as merchant,
    ):
        async with connection() as conn:
            await conn.execute(
                "UPDATE merchant SET webhook_url = $2, webhook_secret = 'whsec_x' WHERE id = $1",
                int(merchant_id),
                f"http://hooks.merchant.example:{internal.port}/hooks/wallet",
            )
        request = (await create(live_server, owner_token, merchant_id, amount="2.00"))["request"]
        await pay(live_server, buyer_token, request["id"])
        dns = ScriptedDns([["127.0.0.2"], ["127.0.0.1"]])
        assert await deliver(EgressPolicy(resolver=dns, allowed_networks=(PUBLIC_STAND_IN,))) == 1
        assert internal.received == []
        ((headers, _),) = merchant.received
        # Host (and, over TLS, SNI and the certificate check) keep the name.
        assert headers["host"] == f"hooks.merchant.example:{internal.port}"
        assert dns.asked == ["hooks.merchant.example"]
    (delivery,) = await call(live_server, owner_token, DELIVERIES, {"m": merchant_id})
    assert (delivery["status"], delivery["lastStatusCode"]) == ("DELIVERED", 200)


async def test_a_redirect_to_an_internal_address_is_not_followed(
    live_server: LiveServer,
) -> None:
    owner, owner_token, merchant_id = await shop(live_server)
    _, buyer_token = await customer(live_server)
    async with receiving(Receiver()) as internal:
        redirect = Receiver(
            status=302,
            headers=[(b"location", f"http://127.0.0.1:{internal.port}/admin".encode())],
        )
        async with receiving(redirect, host="127.0.0.2") as merchant:
            policy = EgressPolicy(allowed_networks=(PUBLIC_STAND_IN,))
            principal = await staff_principal(int(merchant_id), owner.id)
            await webhooks.set_endpoint(principal, merchant.url, policy)
            request = (await create(live_server, owner_token, merchant_id, amount="2.00"))[
                "request"
            ]
            await pay(live_server, buyer_token, request["id"])
            assert await deliver(policy) == 1
            assert len(merchant.received) == 1 and internal.received == []
            # A caller that does follow redirects gets each hop checked again.
            async with GuardedClient(policy) as client:
                with pytest.raises(TargetRefused):
                    await client.post(merchant.url, content=b"{}", follow_redirects=True)
            assert len(merchant.received) == 2 and internal.received == []
    (delivery,) = await call(live_server, owner_token, DELIVERIES, {"m": merchant_id})
    assert (delivery["status"], delivery["lastStatusCode"], delivery["lastError"]) == (
        "PENDING",
        302,
        "HTTP 302",
    )


async def test_one_internal_answer_among_public_ones_refuses_the_host(
    live_server: LiveServer,
) -> None:
    owner, _, merchant_id = await shop(live_server)
    principal = await staff_principal(int(merchant_id), owner.id)
    dns = ScriptedDns([["93.184.215.14", "10.1.2.3"]])
    with pytest.raises(WebhookTargetRefused) as refused:
        await webhooks.set_endpoint(
            principal, "https://shop.example/hooks", EgressPolicy(resolver=dns)
        )
    assert refused.value.code == "NOT_PUBLIC"
    public = ScriptedDns([["93.184.215.14", "2606:4700:4700::1111"]])
    secret = await webhooks.set_endpoint(
        principal, "https://shop.example/hooks", EgressPolicy(resolver=public)
    )
    assert secret.startswith("whsec_")


async def test_production_takes_only_https_webhooks(live_server: LiveServer) -> None:
    owner, _, merchant_id = await shop(live_server)
    principal = await staff_principal(int(merchant_id), owner.id)
    production = live_server.settings.replace(environment="production")
    policy = dataclasses.replace(
        EgressPolicy.from_settings(production), resolver=ScriptedDns([["93.184.215.14"]])
    )
    assert policy.require_https and not policy.allow_private
    with pytest.raises(WebhookTargetRefused) as refused:
        await webhooks.set_endpoint(principal, "http://shop.example/hooks", policy)
    assert refused.value.code == "HTTPS_REQUIRED"
    await webhooks.set_endpoint(principal, "https://shop.example/hooks", policy)
    # And at delivery, for a URL stored before: nothing is sent.
    async with GuardedClient(policy) as client:
        with pytest.raises(TargetRefused) as at_delivery:
            await client.post("http://shop.example/hooks", content=b"{}")
    assert at_delivery.value.code == "HTTPS_REQUIRED"


def certificate_for(name: str, folder: Path) -> tuple[str, str]:
    """A self-signed certificate for `name` (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = folder / f"{name}.pem", folder / f"{name}.key"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(certfile), str(keyfile)


async def test_tls_to_the_pinned_address_still_verifies_the_host_name(tmp_path: Path) -> None:
    """Connecting to the checked IP keeps TLS honest: SNI and the certificate check use
    the URL's host name, so a server that cannot prove that name is refused."""
    right = certificate_for("hooks.merchant.example", tmp_path)
    wrong = certificate_for("other.example", tmp_path)
    dns = ScriptedDns([["127.0.0.2"]])
    for tls, trusted in ((right, right), (wrong, wrong)):
        async with receiving(Receiver(), host="127.0.0.2", tls=tls) as merchant:
            policy = EgressPolicy(resolver=dns, allowed_networks=(PUBLIC_STAND_IN,))
            context = ssl.create_default_context(cafile=trusted[0])
            url = f"https://hooks.merchant.example:{merchant.port}/hooks/wallet"
            async with GuardedClient(policy, ssl_context=context) as client:
                if tls is right:
                    assert (await client.post(url, content=b"{}")).status_code == 200
                    assert merchant.received[0][0]["host"].startswith("hooks.merchant.example")
                else:
                    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                        await client.post(url, content=b"{}")
                    assert merchant.received == []
