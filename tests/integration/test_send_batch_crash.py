"""SIGKILL the API while batches of sends are in flight (wallet.transfers.batch).

40 clients send at once through a separate server process, so that its sends share
transactions; the server is killed mid-stream and nobody retries. Afterwards every
acknowledged send is in the database exactly once, and nothing else is: no send that
was not acknowledged left a transaction, a key, a posting or a balance change behind
without the rest of it (money is conserved and the ledger invariants hold).
"""

from __future__ import annotations

import asyncio
import random
import uuid

import httpx

from tests.factories import PASSWORD, make_user
from tests.graphql_client import LOG_IN, SEND
from tests.integration.test_bank import Server
from wallet.config import Settings
from wallet.db.engine import connection
from wallet.ledger.invariants import check_ledger

WALLETS = 20
CLIENTS = 40
OPENING_CENTS = 100_000
KILL_AFTER = 300  # acknowledged sends


async def test_killing_the_api_mid_batch_keeps_acknowledged_sends_once_and_nothing_half_done(
    settings: Settings,
) -> None:
    users = [
        await make_user(balance=f"{OPENING_CENTS / 100:.2f}", username=f"crash_w{i}")
        for i in range(WALLETS)
    ]
    async with connection() as conn:
        await conn.execute("UPDATE app_user SET verification_level = 'premium'")
        await conn.execute("UPDATE fraud_rule SET enabled = false WHERE kind LIKE 'velocity%'")
    server = Server(settings)
    # One batch in flight at a time: concurrent sends always queue behind it and share
    # the next one (with more, a lightly loaded server may run every send alone).
    server.env["WALLET_SEND_BATCH_SIZE"] = "64"
    server.env["WALLET_SEND_BATCH_FLUSHES"] = "1"
    await server.start()
    acknowledged: dict[str, str] = {}  # idempotency key -> transaction id
    unanswered = 0
    killed = asyncio.Event()
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            tokens = []
            for user in users:
                login = {"login": user.username, "password": PASSWORD, "sessionTransport": "BEARER"}
                response = await http.post(
                    f"{server.url}/graphql", json={"query": LOG_IN, "variables": {"input": login}}
                )
                tokens.append(response.json()["data"]["logIn"]["token"])

            async def client(seed: int) -> None:
                nonlocal unanswered
                rng = random.Random(seed)
                while not killed.is_set():
                    sender, recipient = rng.sample(range(WALLETS), 2)
                    key = uuid.uuid4().hex
                    variables = {
                        "input": {
                            "recipient": f"@crash_w{recipient}",
                            "amount": f"{rng.randint(1, 500) / 100:.2f}",
                            "idempotencyKey": key,
                        }
                    }
                    try:
                        response = await http.post(
                            f"{server.url}/graphql",
                            json={"query": SEND, "variables": variables},
                            headers={"authorization": f"Bearer {tokens[sender]}"},
                        )
                    except httpx.TransportError:
                        unanswered += 1  # in flight when it died: not acknowledged
                        return
                    result = response.json()["data"]["sendMoney"]
                    assert result["__typename"] == "SendMoneyPayload", result
                    acknowledged[key] = result["transfer"]["id"]

            async def kill_mid_stream() -> None:
                while len(acknowledged) < KILL_AFTER:
                    await asyncio.sleep(0.01)
                server.kill()
                killed.set()

            await asyncio.gather(kill_mid_stream(), *(client(n) for n in range(CLIENTS)))
    finally:
        server.stop()

    assert unanswered > 0  # sends were in flight when it died
    async with connection() as conn:
        sends = await conn.fetch(
            "SELECT t.id::text, k.key, t.created_at AS tx FROM money_transaction t "
            "LEFT JOIN idempotency_key k ON (k.response->>'transaction_id')::bigint = t.id "
            "WHERE t.type = 'send'"
        )
        keys = await conn.fetchval("SELECT count(*) FROM idempotency_key")
        worth = await conn.fetchval(
            "SELECT sum(posted_credits - posted_debits) FROM ledger_account "
            "WHERE owner_type = 'user' AND purpose = 'wallet'"
        )
        breaches = await check_ledger(conn)
    by_key = {r["key"]: r["id"] for r in sends}
    # Every acknowledged send is there, once, under its key.
    assert {k: by_key.get(k) for k in acknowledged} == acknowledged
    assert len({r["id"] for r in sends}) == len(sends)
    # Nothing half-applied: every send has its key (and every key its send); what was
    # not acknowledged either committed whole with its batch or left nothing.
    assert all(r["key"] is not None for r in sends)
    assert keys == len(sends)
    assert worth == WALLETS * OPENING_CENTS
    assert breaches == []
    # The sends did share transactions (now(), the transaction's start, is the same for
    # the rows of one batch; xmin is not, each send having its savepoint).
    assert len({r["tx"] for r in sends}) < len(sends)
